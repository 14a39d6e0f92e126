"""HTTP reward server in OpenRLHF's remote reward-model format, backed by the skill judge (`JudgeReward`).

    python -m model.serve_reward --model smollm2-135m --port 5000 --mode pointwise
    # OpenRLHF: --remote_rm_url http://HOST:5000/get_reward  (--label_key for per-sample resources)

POST /get_reward
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
  sample). Here scores == rewards (already in [0, 1]); "errors" (null or the reason a sample got the
  failure reward) is extra and ignored by OpenRLHF.

  Splitting a query into prompt and response (OpenRLHF sends no response field):
  1. the query starts with the sample's prompt -> the rest is the response; else the prompt occurs
     inside the query (a BOS token the prompt text lacks) -> what follows it;
  2. otherwise, without a usable prompt, the query is cut at its last assistant-turn header of a
     known chat template (ChatML `<|im_start|>assistant`, Llama-3, Gemma, Phi/Zephyr `<|assistant|>`,
     DeepSeek, Mistral `[/INST]`);
  3. otherwise the sample is not judged: it gets the failure reward and counts as an input error.
  The response loses trailing end/pad tokens; a templated prompt is parsed back into chat messages
  (ChatML, Llama-3, Gemma) so the judge sees the conversation, not template markup.
GET /health -> {"status": "ok", model, backend, mode, setting, "stats": cumulative counters, "last": ...}

Batching: requests that arrive within --batch-window-ms of the first queued one (up to
--max-batch-samples samples) are judged together in ONE batched run of the agent loop; batches run one
at a time (one judge model). --timeout bounds each batch's judging (wall clock; unfinished judgments
get the failure reward, counted); --request-timeout bounds a request's total wait (queue included) and
answers 504 when it runs out. Malformed requests answer 400 naming the sample and field.
"""
# No `from __future__ import annotations`: FastAPI reads the handlers' annotations (Request is imported
# lazily inside create_app) at definition time.
import argparse
import asyncio
import json
import re
import sys
from contextlib import asynccontextmanager
from typing import Any

from model.agent import AgentConfig
from model.prompts import SETTINGS
from model.reward import (
    BASELINE_COLUMNS,
    MODES,
    RESOURCE_COLUMNS,
    JudgeReward,
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
LABEL_KEYS = (*RESOURCE_COLUMNS, *BASELINE_COLUMNS, "domain", "resources")


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


def samples_from_request(data: Any, mode: str) -> list[RewardSample]:
    """The request body -> one RewardSample per sample. Raises ValueError (-> HTTP 400) for malformed
    requests; a query that cannot be split becomes a failed sample instead (it is one bad sample)."""
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    responses = _list(data, "responses", None)
    queries = None if responses is not None else _list(data, "query", None)
    if responses is None and queries is None:
        raise ValueError("the request needs 'query' (OpenRLHF: prompt + response texts) or 'prompts' + 'responses'")
    n = len(responses if responses is not None else queries)
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
    }


class Batcher:
    """Groups requests that arrive within `window_s` of the first queued one into one judge call."""

    def __init__(self, reward: JudgeReward, window_s: float = 0.005, max_samples: int = 256):
        self.reward = reward
        self.window_s = window_s
        self.max_samples = max_samples
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None
        self.batches = 0
        self.last_batch_requests = 0

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    async def submit(self, samples: list[RewardSample]) -> list[RewardResult]:
        assert self.queue is not None, "Batcher.start() was not called"
        fut = asyncio.get_running_loop().create_future()
        await self.queue.put((samples, fut))
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.queue is not None
        while True:
            batch = [await self.queue.get()]
            n = len(batch[0][0])
            close = loop.time() + self.window_s
            while n < self.max_samples:
                left = close - loop.time()
                if left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self.queue.get(), left)
                except TimeoutError:
                    break
                batch.append(item)
                n += len(item[0])
            batch = [(s, f) for s, f in batch if not f.cancelled()]  # their requests already timed out
            if not batch:
                continue
            samples = [s for group, _ in batch for s in group]
            self.batches += 1
            self.last_batch_requests = len(batch)
            try:
                results = await loop.run_in_executor(None, self.reward.score, samples)
            except Exception as e:  # noqa: BLE001 - answered as a 500 to every request of the batch
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            start = 0
            for group, fut in batch:
                if not fut.done():
                    fut.set_result(results[start: start + len(group)])
                start += len(group)


def create_app(reward: JudgeReward, batch_window_ms: float = 5.0, max_batch_samples: int = 256,
               request_timeout_s: float | None = None, warmup: bool = True) -> Any:
    """The FastAPI app serving `reward` (tests run it in-process with uvicorn in a thread)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    if reward.failure_reward is None:
        raise ValueError("the reward server needs a numeric failure_reward (JSON rewards must be numbers)")
    batcher = Batcher(reward, batch_window_ms / 1000.0, max_batch_samples)

    @asynccontextmanager
    async def lifespan(app: Any):
        if warmup:
            await asyncio.get_running_loop().run_in_executor(None, reward.warmup)
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="Skill-RM judge reward server", lifespan=lifespan)
    app.state.reward = reward
    app.state.batcher = batcher

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": reward.model, "backend": reward.describe_backend(), "mode": reward.mode,
                "setting": reward.setting, "timeout_s": reward.timeout_s, "failure_reward": reward.failure_reward,
                "batches": batcher.batches, "stats": reward.total_stats, "last": reward.last_stats}

    @app.post("/get_reward")
    async def get_reward(request: Request) -> Any:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            return JSONResponse({"error": "the request body is not valid JSON"}, status_code=400)
        try:
            samples = samples_from_request(data, reward.mode)
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        if not samples:
            return response_body([], reward.failure_reward)
        try:
            results = await asyncio.wait_for(batcher.submit(samples), request_timeout_s)
        except TimeoutError:
            return JSONResponse({"error": f"request timed out after {request_timeout_s} s"}, status_code=504)
        except Exception as e:  # noqa: BLE001
            return JSONResponse({"error": f"judge failed: {type(e).__name__}: {e}"}, status_code=500)
        return response_body(results, reward.failure_reward)

    return app


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m model.serve_reward", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m", help="judge model spec (embedded name, Hub id, folder, "
                   "LoRA adapter folder) or the served model name for --backend openai")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 to serve other machines)")
    p.add_argument("--setting", choices=SETTINGS, default="skill_operational")
    p.add_argument("--mode", choices=MODES, default="pointwise")
    p.add_argument("--backend", default="hf", help="hf | openai | vllm | scripted:MODULE:FUNCTION (a Python "
                   "policy, for tests)")
    p.add_argument("--base-url", action="append", help="OpenAI-compatible server URL (repeat for failover)")
    p.add_argument("--tool-mode", choices=["text", "native"], default="text", help="openai backend tool calls")
    p.add_argument("--batch-size", type=int, default=8, help="hf backend generation batch size")
    p.add_argument("--timeout", type=float, default=None, help="wall-clock seconds per judge batch; unfinished "
                   "judgments get the failure reward (default: no limit)")
    p.add_argument("--request-timeout", type=float, default=None, help="seconds a request may wait in total "
                   "(queue + judging) before a 504 (default: no limit)")
    p.add_argument("--failure-reward", type=float, default=0.0, help="reward of a sample whose judgment failed")
    p.add_argument("--batch-window-ms", type=float, default=5.0, help="group requests arriving this close")
    p.add_argument("--max-batch-samples", type=int, default=256, help="samples per judge batch (soft cap)")
    p.add_argument("--max-steps", type=int, default=AgentConfig.max_steps)
    p.add_argument("--max-new-tokens", type=int, default=AgentConfig.max_new_tokens)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skills-dir", default="skills")
    p.add_argument("--log-level", default="info")
    return p


def reward_from_args(args: argparse.Namespace) -> JudgeReward:
    cfg = AgentConfig(max_steps=args.max_steps, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                      seed=args.seed, skills_dir=args.skills_dir)
    options = {"tool_mode": args.tool_mode} if args.backend == "openai" else {}
    return JudgeReward(args.model, backend=args.backend, base_url=args.base_url, setting=args.setting,
                       mode=args.mode, agent=cfg, batch_size=args.batch_size if args.backend == "hf" else None,
                       timeout_s=args.timeout, failure_reward=args.failure_reward, backend_options=options)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = build_parser().parse_args(argv)
    reward = reward_from_args(args)
    app = create_app(reward, args.batch_window_ms, args.max_batch_samples, args.request_timeout)
    print(f"judge reward server: {reward!r} on http://{args.host}:{args.port}/get_reward", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
