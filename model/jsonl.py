"""JSON-lines I/O shared by every stage: one streaming row reader with a rejects file, and resumable
appends.

Reading contract (`iter_jsonl`, used by every stage's input): a row is one line that decodes as UTF-8
and parses as a JSON object nested at most `MAX_DEPTH` levels. Anything else (invalid JSON, NaN, a
non-object, non-UTF-8 bytes or a lone surrogate, a byte-order mark inside the file, a too-deep row)
becomes a `BadRow` naming the field and the reason, never an exception: the caller sends it to
`Rejects` (file, row, field, reason, raw) and goes on with the good rows. A BOM at the very start of a
file is the standard UTF-8 signature and is skipped.

Resumability contract: an output file is only ever appended to, one complete line per record,
flushed and fsync'd per batch. A job killed mid-write leaves at most one partial last line, which
`ResumableWriter` truncates on open; finished keys are read back so that work is neither lost nor
duplicated. A corrupt line elsewhere is dropped with a warning naming file and line, and its work redone.
"""
from __future__ import annotations

import codecs
import json
import os
import re
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

MAX_DEPTH = 64  # nesting levels a row may have; deeper is a reject (and never a RecursionError)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BadRow:
    """A line that is not a readable JSON object: which field (`<json>`, `<row>`, `<encoding>`), why,
    and its raw text (for the rejects file)."""

    __slots__ = ("field", "reason", "text")

    def __init__(self, reason: str, field: str = "<json>", text: str = ""):
        self.reason, self.field, self.text = reason, field, text

    @property
    def message(self) -> str:  # the name the source adapters used
        return self.reason

    def error(self, path: str | Path, row: int) -> ValueError:
        return ValueError(f"{path}: row {row}: field '{self.field}': {self.reason}")


def iter_jsonl(path: str | Path, max_depth: int = MAX_DEPTH) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    """(1-based line number, object or BadRow) for each non-blank line, read lazily; never raises for a row."""
    with open(path, "rb") as f:
        for lineno, data in enumerate(f, 1):
            row = parse_line(data, max_depth, first=lineno == 1)
            if row is not None:
                yield lineno, row


def parse_line(data: bytes, max_depth: int = MAX_DEPTH, first: bool = False) -> dict[str, Any] | BadRow | None:
    """One JSONL line -> object, BadRow, or None for a blank line."""
    if data.startswith(codecs.BOM_UTF8):
        if not first:
            return BadRow("starts with a UTF-8 byte-order mark inside the file (files joined with a BOM?)",
                          "<encoding>", data.decode("utf-8", "replace"))
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return BadRow(f"not UTF-8: byte 0x{data[e.start]:02x} at offset {e.start}", "<encoding>",
                      data.decode("utf-8", "replace"))
    if not text.strip():
        return None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as e:
        return BadRow(f"invalid JSON: {e}", "<json>", text)
    except RecursionError:
        return BadRow(f"nested deeper than the parser allows (limit {max_depth})", "<json>", text)
    if not isinstance(obj, dict):
        return BadRow(f"must be a JSON object, got {type(obj).__name__}", "<row>", text)
    depth = _depth(obj)
    if depth > max_depth:
        return BadRow(f"nested {depth} levels deep (limit {max_depth})", "<json>", text)
    if _SURROGATE_ESCAPE.search(data):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return BadRow("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), not valid Unicode",
                          "<encoding>", text)
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth(obj: Any) -> int:
    """Nesting depth of a parsed value (iterative: a deep row cannot exhaust the stack)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, d = stack.pop()
        deepest = max(deepest, d)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yields the JSON objects of a strict JSONL file; raises ValueError naming file, line and field."""
    for lineno, row in iter_jsonl(path):
        if isinstance(row, BadRow):
            raise row.error(path, lineno)
        yield row


def read_rows(path: str | Path, rejects: Rejects | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for the good rows; bad ones go to `rejects` (or raise when it is None)."""
    for lineno, row in iter_jsonl(path):
        if isinstance(row, BadRow):
            if rejects is None:
                raise row.error(path, lineno)
            rejects.add(path, lineno, row.reason, row.text, field=row.field)
            continue
        yield lineno, row


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Writes rows atomically (temp file + rename). Returns the number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


class Rejects:
    """Collects malformed input rows with file, row, field and reason; written as JSONL on `close`."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.rows: list[dict[str, Any]] = []

    def add(self, file: str | Path, row: int, reason: str, raw: Any = None, field: str | None = None) -> None:
        if field is None:  # a RecordError's text starts with "field 'name': "
            m = re.match(r"field '([^']*)': ", reason)
            field = m.group(1) if m else "<row>"
        self.rows.append({"file": str(file), "row": row, "field": field, "reason": reason, "raw": _truncate(raw)})

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def describe(r: dict[str, Any]) -> str:
        """One reject as "file: row N: field 'name': reason" (a reason that names its field already, as
        `add` reads it, is not prefixed twice)."""
        reason = r["reason"] if r["reason"].startswith("field '") else f"field '{r['field']}': {r['reason']}"
        return f"{r['file']}: row {r['row']}: {reason}"

    def close(self) -> None:
        if self.path is not None and self.rows:
            with open(self.path, "a", encoding="utf-8") as f:
                for r in self.rows:
                    f.write(json.dumps(r, ensure_ascii=True, default=str) + "\n")
            self.rows = []


def _truncate(raw: Any, limit: int = 2000) -> Any:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "...<truncated>"


PARSE_ERRORS = (ValueError, KeyError, TypeError, IndexError)


def iter_records(
    path: str | Path,
    parse: Callable[[dict[str, Any]], T],
    rejects: Rejects | None = None,
    raw_rows: Iterable[dict[str, Any]] | None = None,
    key: Callable[[T], Hashable] | None = None,
) -> Iterator[T]:
    """Streams `parse(row)` for each good row; rows that fail go to `rejects` (or raise when None).

    `key(record)` is the record's id: a row repeating an earlier id is rejected (field 'id').
    `raw_rows` lets a caller pass rows it already read (e.g. a dataset folder); default reads JSONL.
    """
    rows = read_rows(path, rejects) if raw_rows is None else enumerate(raw_rows, 1)
    seen: set[Hashable] = set()
    for idx, row in rows:
        try:
            if not isinstance(row, dict):
                raise TypeError(f"row must be a JSON object, got {type(row).__name__}")
            rec = parse(row)
            k = key(rec) if key else None
            if k is not None and k in seen:
                raise ValueError(f"field 'id': duplicate id {k!r}")
        except PARSE_ERRORS as e:
            reason = str(e) if str(e).startswith("field '") else f"{type(e).__name__}: {e}"
            if rejects is None:
                raise ValueError(f"{path}: row {idx}: {reason}") from e
            rejects.add(path, idx, reason, row)
            continue
        if k is not None:
            seen.add(k)
        yield rec


def load_records(
    path: str | Path,
    parse: Callable[[dict[str, Any]], T],
    rejects: Rejects | None = None,
    raw_rows: Iterable[dict[str, Any]] | None = None,
    key: Callable[[T], Hashable] | None = None,
) -> list[T]:
    """`iter_records` as a list."""
    return list(iter_records(path, parse, rejects, raw_rows, key))


def iter_json_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | BadRow | Any]]:
    """(row number, row) from a JSON array file, a JSON object file or a JSONL file (by content).

    Row numbers are 1-based: the array index + 1, or the physical line for JSONL (streamed through
    `iter_jsonl`, so a bad line is a BadRow). An object file yields its `data` / `rows` / `examples`
    list, or itself. Array and object files are parsed whole; one that does not parse raises ValueError.
    """
    with open(path, "rb") as f:
        lines = [f.readline() for _ in range(5)]
    firsts = [parse_line(line, first=i == 0) for i, line in enumerate(lines)]
    head = b"".join(lines).lstrip(codecs.BOM_UTF8).lstrip()[:1]
    if head in (b"[", b"{") and not isinstance(firsts[0], dict):
        try:
            whole = _whole_file_rows(path)
        except ValueError:
            if not any(isinstance(r, dict) for r in firsts[1:]):
                raise  # a broken JSON array / object file, not JSONL with a bad first line
        else:
            yield from enumerate(whole, 1)
            return
    rows = iter_jsonl(path)
    lookahead = [r for _, r in zip(range(2), rows)]
    if len(lookahead) == 1 and isinstance(lookahead[0][1], dict):  # one-line object file {"data": [...]}
        listed = _listed_rows(lookahead[0][1])
        if listed is not None:
            yield from enumerate(listed, 1)
            return
    yield from lookahead
    yield from rows


def _listed_rows(obj: dict[str, Any]) -> list[Any] | None:
    for key in ("data", "rows", "examples"):
        if isinstance(obj.get(key), list):
            return obj[key]
    return None


def _whole_file_rows(path: str | Path) -> list[Any]:
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 (byte offset {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON: {e}") from None
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply to parse") from None
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        listed = _listed_rows(data)
        return listed if listed is not None else [data]
    raise ValueError(f"{path}: expected a JSON array or object, got {type(data).__name__}")


def read_json_or_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Reads a JSON array/object file or a JSONL file (decided by content, not extension); strict."""
    out = []
    for rownum, row in iter_json_rows(path):
        if isinstance(row, BadRow):
            raise row.error(path, rownum)
        out.append(row)
    return out


class ResumableWriter:
    """Append-only JSONL writer that knows which keys are already done.

    >>> w = ResumableWriter(path, key=lambda r: (r["task_id"], tuple(r["order"])))
    >>> todo = [x for x in work if key(x) not in w.done]
    >>> w.write_many(rows)
    """

    def __init__(self, path: str | Path, key: Callable[[dict[str, Any]], Any]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.done: set[Any] = set()
        self.rows: list[dict[str, Any]] = []
        if self.path.exists():
            self._recover()
        self._f = open(self.path, "a", encoding="utf-8")

    def _recover(self) -> None:
        """Reads back the finished rows. A partial last line (a killed writer) is cut off; a corrupt line
        elsewhere is dropped with a warning naming file and line, so only that row is redone."""
        data = self.path.read_bytes()
        kept: list[bytes] = []
        corrupt: list[str] = []
        lines = data.splitlines(keepends=True)
        for lineno, line in enumerate(lines, 1):
            if not line.endswith(b"\n"):
                break  # a partial last line from a killed writer
            row = parse_line(line, first=lineno == 1)
            if row is None:
                continue
            try:
                if isinstance(row, BadRow):
                    raise ValueError(row.reason)
                k = self.key(row)
            except PARSE_ERRORS as e:
                corrupt.append(f"{self.path}:{lineno}: {e}")
                continue
            self.rows.append(row)
            self.done.add(k)
            kept.append(line)
        for msg in corrupt:
            warnings.warn(f"{msg} (corrupt output row dropped; its work is redone)", stacklevel=3)
        good = b"".join(kept)
        if good != data:
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            tmp.write_bytes(good)
            os.replace(tmp, self.path)

    def write_many(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            k = self.key(row)
            if k in self.done:
                continue
            self._f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            self.done.add(k)
            self.rows.append(row)
        self._f.flush()
        os.fsync(self._f.fileno())

    def write(self, row: dict[str, Any]) -> None:
        self.write_many([row])

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> ResumableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
