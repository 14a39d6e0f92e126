"""OpenRLHF's remote reward-model format (`--remote_rm_url`): the request body -> samples, results -> the
response body. The server (model/reward/server.py) only schedules what this module parses.

Request (OpenRLHF's client, openrlhf/utils/remote_rm_utils.py, posts exactly
{"query": queries, "prompts": prompts, "labels": labels}):
  query     list[str]   prompt + response, i.e. OpenRLHF's `tokenizer.batch_decode(sequences,
                        skip_special_tokens=False)`: chat-template markers and end tokens included.
  prompts   list[str]   the prompts as OpenRLHF fed them to the policy (chat template applied when
                        --apply_chat_template); used to split each query.
  labels    list        the --label_key column per sample: a reference answer (text), or a mapping,
                        or its JSON, of {reference, checklist, constraints, tests, metadata, baseline,
                        domain}.
Also accepted: explicit `prompts` + `responses` (text or chat messages) instead of `query`, and
per-sample lists `reference`, `checklist`, `constraints`, `tests`, `metadata`, `baseline`
(alias `reference_response`), `domain`, which override the labels' fields.

Response: {"rewards": [...], "scores": [...], "extra_logs": {name: [one number per sample]},
"errors": [...]}: OpenRLHF uses "rewards" for advantages, "scores" (0-1) for dynamic filtering and
logs each extra_logs key per sample (it concatenates them across requests, hence one value per
sample). Here scores == rewards (already in [0, 1]); "errors" (null, or why a sample got the failure
reward) is extra and ignored by OpenRLHF.

Splitting a query into prompt and response (OpenRLHF sends no response field):
1. the query starts with the sample's prompt -> the rest is the response; else the prompt occurs
   inside the query (a BOS token the prompt text lacks) -> what follows it;
2. otherwise, without a usable prompt, the query is cut at its last assistant-turn header of a
   known chat template (ChatML `<|im_start|>assistant`, Llama-3, Gemma, Phi/Zephyr `<|assistant|>`,
   DeepSeek, Mistral `[/INST]`);
3. otherwise the sample is not judged: it gets the failure reward and counts as an input error.
The response loses trailing end/pad tokens; a templated prompt is parsed back into chat messages
(ChatML, Llama-3, Gemma) so the judge sees the conversation, not template markup.
"""
from __future__ import annotations

import re
from typing import Any

from model.reward.inputs import (
    BASELINE_COLUMNS,
    SAMPLE_FIELDS,
    RewardResult,
    RewardSample,
    maybe_json,
    sample_from_fields,
    to_plain,
)

# Where an assistant turn starts, per chat-template family (the generation prompt ends with one).
ASSISTANT_MARKERS = (
    "<|im_start|>assistant\n", "<|im_start|>assistant",                      # ChatML: Qwen, SmolLM2, ...
    "<|start_header_id|>assistant<|end_header_id|>\n\n",                      # Llama 3
    "<|start_header_id|>assistant<|end_header_id|>",
    "<start_of_turn>model\n",                                                 # Gemma
    "<|assistant|>\n", "<|assistant|>",                                       # Phi-3, Zephyr
    "<｜Assistant｜>",                                                         # DeepSeek
    "[/INST]",                                                                # Mistral, Llama 2
)
END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "</s>", "<end_of_turn>", "<eos>",
              "<|end|>", "<｜end▁of▁sentence｜>", "<pad>", "<|pad|>", "[PAD]", "<|finetune_right_pad_id|>")
START_TOKENS = ("<|begin_of_text|>", "<s>", "<bos>", "<｜begin▁of▁sentence｜>", "<|startoftext|>")
_TURN_PATTERNS = (
    re.compile(r"<\|im_start\|>(\w+)\n?(.*?)(?=<\|im_end\|>|<\|im_start\|>|\Z)", re.DOTALL),
    re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n*(.*?)(?=<\|eot_id\|>|<\|start_header_id\|>|\Z)",
               re.DOTALL),
    re.compile(r"<start_of_turn>(\w+)\n?(.*?)(?=<end_of_turn>|<start_of_turn>|\Z)", re.DOTALL),
)
LABEL_KEYS = SAMPLE_FIELDS


def clean_response(text: str) -> str:
    """The response without surrounding whitespace and trailing end-of-turn / pad tokens."""
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for tok in END_TOKENS:
            if text.endswith(tok):
                text = text[: -len(tok)].rstrip()
                changed = True
    return text


def clean_prompt(text: str) -> str | list[dict[str, str]]:
    """A templated prompt -> chat messages (ChatML, Llama-3, Gemma); other text loses BOS-like tokens."""
    for pattern in _TURN_PATTERNS:
        turns = [(m.group(1), m.group(2).strip()) for m in pattern.finditer(text)]
        msgs = [{"role": "assistant" if role == "model" else role, "content": content}
                for role, content in turns if content]
        if msgs:
            return msgs
    for tok in START_TOKENS:
        text = text.replace(tok, "")
    return text.strip()


def split_query(query: str, prompt: str | None = None) -> tuple[str | list[dict[str, str]], str]:
    """(judge prompt, response) from an OpenRLHF query; see the module docstring for the rules."""
    if not isinstance(query, str):
        raise ValueError(f"query must be text, got {type(query).__name__}")
    response: str | None = None
    if isinstance(prompt, str) and prompt.strip():
        if query.startswith(prompt):
            response = query[len(prompt):]
        else:
            k = query.find(prompt)
            if k >= 0:
                response = query[k + len(prompt):]
    prompt_text = prompt if isinstance(prompt, str) and prompt.strip() else None
    if response is None:
        cut = max(((query.rfind(m), m) for m in ASSISTANT_MARKERS), key=lambda x: x[0])
        if cut[0] < 0:
            raise ValueError("cannot split the query into prompt and response: the prompt does not occur in it "
                             "and it has no known assistant-turn marker")
        response = query[cut[0] + len(cut[1]):]
        prompt_text = prompt_text or query[: cut[0]]
    judge_prompt = clean_prompt(prompt_text or "")
    if not judge_prompt:
        raise ValueError("the prompt is empty after removing chat-template markup")
    return judge_prompt, clean_response(response)


def label_fields(label: Any) -> dict[str, Any]:
    """OpenRLHF's per-sample label -> resource fields: a mapping (or JSON object) of known keys, else
    the label is the reference answer."""
    label = to_plain(label)
    if label is None or label == "":
        return {}
    parsed = maybe_json(label)
    if isinstance(parsed, dict):
        unknown = set(parsed) - set(LABEL_KEYS)
        if unknown:
            raise ValueError(f"label mapping has unknown keys {sorted(unknown)}; known: {list(LABEL_KEYS)}")
        return dict(parsed)
    return {"reference": label}


def _list(data: dict[str, Any], key: str, n: int | None) -> list[Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"'{key}' must be a list")
    if n is not None and len(value) != n:
        raise ValueError(f"'{key}' has {len(value)} entries, expected {n} (one per sample)")
    return value


class TooManySamples(ValueError):
    """The request holds more samples than the server takes in one request (-> HTTP 413)."""


def samples_from_request(data: Any, mode: str, max_samples: int | None = None) -> list[RewardSample]:
    """The request body -> one RewardSample per sample. Raises ValueError (-> HTTP 400) for malformed
    requests, TooManySamples past `max_samples`; a query that cannot be split becomes a failed sample
    instead (it is one bad sample)."""
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    responses = _list(data, "responses", None)
    queries = None if responses is not None else _list(data, "query", None)
    if responses is None and queries is None:
        raise ValueError("the request needs 'query' (OpenRLHF: prompt + response texts) or 'prompts' + 'responses'")
    n = len(responses if responses is not None else queries)
    if max_samples is not None and n > max_samples:
        raise TooManySamples(f"the request holds {n} samples; this server takes at most {max_samples} per request "
                             "(--max-request-samples): send them in several requests")
    prompts = _list(data, "prompts", n)
    if responses is not None and prompts is None:
        raise ValueError("'responses' needs 'prompts' (one per response)")
    labels = _list(data, "labels", n)
    columns = {k: _list(data, k, n) for k in LABEL_KEYS if k != "resources"}
    samples = []
    for i in range(n):
        try:
            fields = label_fields(labels[i]) if labels is not None else {}
            fields.update({k: col[i] for k, col in columns.items() if col is not None and col[i] is not None})
            if responses is not None:
                prompt, response = prompts[i], responses[i]
            else:
                try:
                    prompt, response = split_query(queries[i], prompts[i] if prompts is not None else None)
                except ValueError as e:
                    samples.append(RewardSample(prompt="", completion="", error=str(e)))
                    continue
            sample = sample_from_fields(prompt, response, fields)
        except ValueError as e:
            raise ValueError(f"sample {i}: {e}") from e
        if mode == "pairwise" and sample.baseline is None:
            raise ValueError(f"sample {i}: pairwise mode needs a baseline response "
                             f"(labels mapping or a per-sample list: one of {BASELINE_COLUMNS})")
        samples.append(sample)
    return samples


def response_body(results: list[RewardResult], failure_reward: float) -> dict[str, Any]:
    """The reply to OpenRLHF; `timed_out` counts the samples whose judgment did not finish in time."""
    rewards = [float(r.reward) if r.reward is not None else float(failure_reward) for r in results]
    return {
        "rewards": rewards,
        "scores": list(rewards),
        "extra_logs": {
            "judge_ok": [float(r.ok) for r in results],
            "judge_timeout": [float(r.timed_out) for r in results],
            "judge_input_error": [float(bool(r.error and r.error.startswith("input error"))) for r in results],
            "judge_tool_calls": [float(r.tool_calls) for r in results],
        },
        "errors": [r.error for r in results],
        "timed_out": sum(r.timed_out for r in results),
    }
