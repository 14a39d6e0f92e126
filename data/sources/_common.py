"""Helpers shared by the source adapters: row iteration with rejects, field checks, chat messages.

Every adapter turns one upstream row into zero or more `JudgeTask`s with a `parse(row, rownum)` function
and hands it to `collect`, which enforces the contract:
- a malformed row never aborts the load: it goes to `rejects` as (file, 1-based row, reason naming the
  field, raw row); with `rejects=None` it raises `ValueError("<file>: row <n>: field '<f>': ...")`;
- task ids are unique within one load (a row that would repeat an id is rejected, field 'id');
- `limit` counts accepted upstream rows that produced tasks (a row may expand to several tasks, e.g.
  RM-Bench's 3x3 pairs), so per-row groups (style matrices, pair sets, Ties groups) are never cut in half.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

from model.jsonl import BadRow, Rejects, iter_json_rows
from model.records import DOMAINS, JudgeTask, RecordError

Row = dict[str, Any]
ParseFn = Callable[[Row, int], list[JudgeTask]]

# Upstream label / order texts that must never be shown to a judge (checked by the leakage tests).
LABEL_TEXTS = ("A>B", "B>A", "A=B", "A>>B", "B>>A")


def fail(field_name: str, message: str) -> NoReturn:
    raise RecordError(field_name, message)


# --------------------------------------------------------------------------- reading
# The reader itself is model.jsonl's (`iter_json_rows`: JSON array / object / streamed JSONL files);
# a line it could not read arrives here as a `BadRow` and becomes a reject in `collect`.

BadJSON = BadRow  # the name the adapters and builders use


def first_row(path: str | Path) -> Any:
    """The first row of a JSON / JSONL file (None when empty)."""
    for _, row in iter_json_rows(path):
        return row
    return None


# --------------------------------------------------------------------------- collecting


def collect(
    file: str | Path,
    rows: Iterable[tuple[int, Any]],
    parse: ParseFn,
    rejects: Rejects | None,
    limit: int | None = None,
    seen_ids: set[str] | None = None,
) -> list[JudgeTask]:
    """Parses rows into tasks; bad rows go to `rejects` (or raise ValueError when it is None)."""
    out: list[JudgeTask] = []
    seen = seen_ids if seen_ids is not None else set()
    accepted = 0
    for rownum, raw in rows:
        if limit is not None and accepted >= limit:
            break
        try:
            if isinstance(raw, BadRow):
                fail(raw.field, raw.reason)
            if not isinstance(raw, dict):
                fail("<row>", f"must be a JSON object, got {type(raw).__name__}")
            tasks = parse(raw, rownum)
            ids = [t.id for t in tasks]
            dup = next((i for n, i in enumerate(ids) if i in seen or i in ids[:n]), None)
            if dup is not None:
                fail("id", f"duplicate task id {dup!r}")
        except (RecordError, ValueError, TypeError, KeyError, IndexError) as e:
            reason = str(e) if isinstance(e, RecordError) else f"{type(e).__name__}: {e}"
            if rejects is None:
                raise ValueError(f"{file}: row {rownum}: {reason}") from e
            field_name = e.field if isinstance(e, RecordError) else None
            rejects.add(file, rownum, reason, raw.text if isinstance(raw, BadRow) else raw, field=field_name)
            continue
        seen.update(ids)
        out.extend(tasks)
        accepted += bool(tasks)
    return out


# --------------------------------------------------------------------------- fields


def req(row: Row, key: str) -> Any:
    if key not in row or row[key] is None:
        fail(key, "missing")
    return row[key]


def req_str(row: Row, key: str, label: str | None = None) -> str:
    value = req(row, key)
    if not isinstance(value, str) or not value.strip():
        fail(label or key, f"must be a non-empty string, got {_short(value)}")
    return value


def req_id(row: Row, key: str = "id") -> str:
    value = req(row, key)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        fail(key, f"must be a non-empty string or integer, got {_short(value)}")
    return str(value)


def req_str_list(row: Row, key: str, length: int | None = None, min_length: int = 1) -> list[str]:
    value = req(row, key)
    if not isinstance(value, list):
        fail(key, f"must be a list of strings, got {type(value).__name__}")
    for k, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            fail(f"{key}[{k}]", f"must be a non-empty string, got {_short(item)}")
    if length is not None and len(value) != length:
        fail(key, f"must have {length} items, got {len(value)}")
    if len(value) < min_length:
        fail(key, f"must have at least {min_length} items, got {len(value)}")
    return list(value)


def check_domain(domain: str, label: str = "domain") -> str:
    if domain not in DOMAINS:
        fail(label, f"must be one of {DOMAINS}, got {domain!r}")
    return domain


def _short(value: Any, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."


# --------------------------------------------------------------------------- chat messages


def as_messages(value: Any, field_name: str) -> list[dict[str, str]]:
    """Validates a chat-message list and returns clean {role, content} copies (extra keys dropped)."""
    if not isinstance(value, list) or not value:
        fail(field_name, "must be a non-empty list of chat messages")
    out = []
    for k, m in enumerate(value):
        if not isinstance(m, dict):
            fail(f"{field_name}[{k}]", "must be a {role, content} object")
        role, content = m.get("role"), m.get("content")
        if not isinstance(role, str) or not role:
            fail(f"{field_name}[{k}].role", f"must be a non-empty string, got {_short(role)}")
        if not isinstance(content, str):
            fail(f"{field_name}[{k}].content", f"must be a string, got {_short(content)}")
        out.append({"role": role, "content": content})
    return out


def is_messages(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def prompt_from_messages(messages: list[dict[str, str]], field_name: str) -> str | list[dict[str, str]]:
    """One user turn -> its text; otherwise the message list. An empty prefix is an error."""
    if not messages:
        fail(field_name, "has no prompt messages before the final assistant turn")
    if messages[-1]["role"] == "assistant":
        fail(field_name, "prompt must not end with an assistant turn")
    if len(messages) == 1 and messages[0]["role"] == "user":
        if not messages[0]["content"].strip():
            fail(field_name, "the user turn is empty")
        return messages[0]["content"]
    return messages


def split_final_assistant(value: Any, field_name: str) -> tuple[list[dict[str, str]], str]:
    """(prefix messages, final assistant content) of a conversation that ends with an assistant turn."""
    messages = as_messages(value, field_name)
    last = messages[-1]
    if last["role"] != "assistant":
        fail(f"{field_name}[-1].role", f"the final turn must be 'assistant', got {last['role']!r}")
    if not last["content"].strip():
        fail(f"{field_name}[-1].content", "the final assistant turn is empty")
    return messages[:-1], last["content"]


def response_text(value: Any, field_name: str) -> str:
    """A response given as text, or as messages ending with an assistant turn (-> that turn's content)."""
    if isinstance(value, str):
        if not value.strip():
            fail(field_name, "must be a non-empty string")
        return value
    if is_messages(value):
        return split_final_assistant(value, field_name)[1]
    fail(field_name, f"must be a string or chat messages, got {_short(value)}")
