"""Tool calls in the two forms the runtime accepts: native OpenAI `tool_calls` and Hermes-style text.

Text form: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, possibly several, possibly with
the closing tag cut off by the end of generation. A block that does not parse becomes an error
string (answered with a tool error and counted as an invalid call by the agent loop), never a guess.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""

    def to_openai(self) -> dict[str, Any]:
        """OpenAI message form. Arguments stay a dict (what chat templates expect); the openai backend
        serialises them to a JSON string when it sends messages to a server."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class ParsedOutput:
    content: str                      # text outside tool-call blocks
    tool_calls: list[ToolCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one per malformed block


def _decode_call(raw: str) -> ToolCall:
    raw = _FENCE.sub("", raw.strip())
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        # Small models often add trailing text after the object: take the first complete object.
        try:
            obj, _ = json.JSONDecoder().raw_decode(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"tool call is not valid JSON ({e.msg} at char {e.pos})") from None
    if not isinstance(obj, dict):
        raise ValueError("tool call must be a JSON object with 'name' and 'arguments'")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("tool call has no 'name'")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            raise ValueError(f"arguments of '{name}' are not a JSON object") from None
    if not isinstance(args, dict):
        raise ValueError(f"arguments of '{name}' must be a JSON object")
    return ToolCall(name=name, arguments=args)


def parse_text_tool_calls(text: str, id_prefix: str = "call") -> ParsedOutput:
    calls: list[ToolCall] = []
    errors: list[str] = []
    for k, m in enumerate(_BLOCK.finditer(text)):
        try:
            call = _decode_call(m.group(1))
            call.id = f"{id_prefix}_{k}"
            calls.append(call)
        except ValueError as e:
            errors.append(str(e))
    content = _BLOCK.sub("", text).strip()
    if not calls and not errors:
        bare = _bare_json_call(content)
        if bare is not None:
            bare.id = f"{id_prefix}_0"
            return ParsedOutput(content="", tool_calls=[bare])
    return ParsedOutput(content=content, tool_calls=calls, errors=errors)


def _bare_json_call(text: str) -> ToolCall | None:
    """A whole reply that is just `{"name": ..., "arguments": ...}` is a tool call too."""
    stripped = _FENCE.sub("", text.strip())
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        obj = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    if isinstance(obj, dict) and isinstance(obj.get("name"), str) and "arguments" in obj:
        try:
            return _decode_call(stripped)
        except ValueError:
            return None
    return None


def parse_native_tool_calls(raw_calls: list[Any] | None) -> tuple[list[ToolCall], list[str]]:
    """OpenAI `message.tool_calls` (objects or dicts) -> ToolCalls; bad argument JSON -> errors."""
    calls: list[ToolCall] = []
    errors: list[str] = []
    for k, tc in enumerate(raw_calls or []):
        tc = tc if isinstance(tc, dict) else tc.model_dump()
        fn = tc.get("function") or {}
        try:
            call = _decode_call(json.dumps({"name": fn.get("name"), "arguments": fn.get("arguments") or {}}))
            call.id = tc.get("id") or f"call_{k}"
            calls.append(call)
        except ValueError as e:
            errors.append(str(e))
    return calls, errors
