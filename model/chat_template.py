"""Chat rendering with tool calls, and (ids, labels) with the loss mask computed from rendered prefixes.

Models whose chat template knows tools (Qwen2.5/3, Llama 3.1+, Hermes...) are rendered with their own
template. Models without tool support (SmolLM2, most small chat models) get the project template:
ChatML with Hermes-style text tool calls,

    <|im_start|>assistant
    I will check the answers.
    <tool_call>
    {"name": "run_resource", "arguments": {"resource_id": "verifier.math_answer"}}
    </tool_call><|im_end|>
    <|im_start|>user
    <tool_response>
    ...
    </tool_response><|im_end|>

`to_text_protocol` produces exactly that conversation as plain messages, for chat servers that have
no tool parser. The loss mask is derived by rendering each conversation prefix (no `{% generation %}`
tags needed): assistant text, tool-call text and the end-of-turn token are trained; system, user,
tool output and the generation prompt are not.
"""
from __future__ import annotations

import json
from typing import Any

IGNORE_INDEX = -100

TOOLS_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
TOOLS_POSTAMBLE = (
    "</tools>\n\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)

# ChatML + Hermes tool calls. Consecutive tool messages share one user turn (as Qwen2.5 does).
PROJECT_TOOL_TEMPLATE = (
    "{%- if tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] + '\\n\\n' }}{%- endif %}"
    "{{- " + json.dumps(TOOLS_PREAMBLE) + " }}"
    "{%- for tool in tools %}{{- (tool | tojson) + '\\n' }}{%- endfor %}"
    "{{- " + json.dumps(TOOLS_POSTAMBLE) + " + '<|im_end|>\\n' }}"
    "{%- elif messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'system' %}"
    "{%- if not loop.first %}{{- '<|im_start|>system\\n' + message['content'] + '<|im_end|>\\n' }}{%- endif %}"
    "{%- elif message['role'] == 'user' %}"
    "{{- '<|im_start|>user\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if message['content'] %}{{- message['content'] }}{%- endif %}"
    "{%- if message['tool_calls'] is defined and message['tool_calls'] %}"
    "{%- for tc in message['tool_calls'] %}"
    "{%- set fn = tc['function'] if tc['function'] is defined else tc %}"
    "{%- if loop.first and message['content'] %}{{- '\\n' }}{%- elif not loop.first %}{{- '\\n' }}{%- endif %}"
    "{{- '<tool_call>\\n{\"name\": \"' + fn['name'] + '\", \"arguments\": ' }}"
    "{%- if fn['arguments'] is string %}{{- fn['arguments'] }}{%- else %}{{- fn['arguments'] | tojson }}{%- endif %}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'tool' %}"
    "{%- if loop.first or messages[loop.index0 - 1]['role'] != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}"
    "{{- '\\n<tool_response>\\n' + message['content'] + '\\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1]['role'] != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def template_supports_tools(tokenizer: Any) -> bool:
    """True when the tokenizer's own chat template renders tool definitions and tool calls."""
    tpl = tokenizer.chat_template
    if isinstance(tpl, dict):
        tpl = tpl.get("tool_use") or tpl.get("default")
    return bool(tpl) and "tools" in tpl and "tool_calls" in tpl


def ensure_tool_template(tokenizer: Any) -> Any:
    """Gives tokenizers without tool support the project template (in place); returns the tokenizer."""
    if not template_supports_tools(tokenizer):
        tokenizer.chat_template = PROJECT_TOOL_TEMPLATE
    return tokenizer


def end_of_turn_token(tokenizer: Any) -> str:
    """The token that closes an assistant turn (trained; generation stops on it)."""
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    for tok in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"):
        if tok in template and tokenizer.convert_tokens_to_ids(tok) not in (None, tokenizer.unk_token_id):
            return tok
    return tokenizer.eos_token


def render(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
           add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(
        messages, tools=tools or None, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def tool_call_text(name: str, arguments: dict | str) -> str:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return '<tool_call>\n{"name": "' + name + '", "arguments": ' + args + "}\n</tool_call>"


def to_text_protocol(messages: list[dict], tools: list[dict] | None = None) -> list[dict]:
    """The same conversation as plain system/user/assistant messages with text tool calls.

    For chat servers without a tool parser: rendered by a ChatML template, the result equals the
    project template's rendering (a test checks this).
    """
    out: list[dict] = []
    msgs = list(messages)
    if tools:
        system = msgs[0]["content"] + "\n\n" if msgs and msgs[0]["role"] == "system" else ""
        if msgs and msgs[0]["role"] == "system":
            msgs = msgs[1:]
        block = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in tools)
        out.append({"role": "system", "content": system + TOOLS_PREAMBLE + block + TOOLS_POSTAMBLE})
    for m in msgs:
        role = m["role"]
        if role == "assistant":
            parts = [m["content"]] if m.get("content") else []
            for tc in m.get("tool_calls") or []:
                fn = tc.get("function", tc)
                parts.append(tool_call_text(fn["name"], fn["arguments"]))
            out.append({"role": "assistant", "content": "\n".join(parts)})
        elif role == "tool":
            block = "\n<tool_response>\n" + m["content"] + "\n</tool_response>"
            if out and out[-1].get("_tool_turn"):
                out[-1]["content"] += block
            else:
                out.append({"role": "user", "content": block, "_tool_turn": True})
        else:
            out.append({"role": role, "content": m["content"]})
    for m in out:
        if m.pop("_tool_turn", False):
            m["content"] = m["content"][1:]  # the template puts the first response right after "user\n"
    return out


class TemplateError(ValueError):
    pass


def render_with_mask(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None
                     ) -> tuple[list[int], list[int]]:
    """Tokenizes a conversation; returns (input_ids, labels) with IGNORE_INDEX on untrained tokens.

    Trained character spans come from rendered prefixes: for assistant message i, from the end of
    render(messages[:i], add_generation_prompt=True) to the end of its end-of-turn token inside
    render(messages[:i+1]). Raises TemplateError when a prefix is not a prefix (templates that rewrite
    history, e.g. by dropping earlier reasoning, cannot be masked this way).
    """
    full = render(tokenizer, messages, tools)
    eot = end_of_turn_token(tokenizer)
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = render(tokenizer, messages[:i], tools, add_generation_prompt=True) if i else ""
        upto = render(tokenizer, messages[: i + 1], tools)
        if not upto.startswith(before) or not full.startswith(upto):
            raise TemplateError(
                f"chat template is not prefix-consistent at message {i}; cannot derive the loss mask"
            )
        segment = upto[len(before):]
        cut = segment.rfind(eot)
        end = len(before) + (cut + len(eot) if cut >= 0 else len(segment))
        spans.append((len(before), end))
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    labels = [IGNORE_INDEX] * len(ids)
    for k, (start, stop) in enumerate(enc["offset_mapping"]):
        if stop > start and any(a <= start < b for a, b in spans):
            labels[k] = ids[k]
    return ids, labels
