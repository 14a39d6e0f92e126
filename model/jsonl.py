"""JSON-lines I/O shared by every stage: tolerant reading with a rejects file, and resumable appends.

Resumability contract: an output file is only ever appended to, one complete line per record,
flushed and fsync'd per batch. A job killed mid-write leaves at most one partial last line, which
`ResumableWriter` truncates on open; finished keys are read back so that work is neither lost nor
duplicated.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yields the JSON objects of a strict JSONL file; raises ValueError naming file and line."""
    yield from _iter_lines_lenient(path, None)


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
    """Collects malformed input rows with file, row and reason; written as JSONL on `close`."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.rows: list[dict[str, Any]] = []

    def add(self, file: str | Path, row: int, reason: str, raw: Any = None) -> None:
        self.rows.append({"file": str(file), "row": row, "reason": reason, "raw": _truncate(raw)})

    def __len__(self) -> int:
        return len(self.rows)

    def close(self) -> None:
        if self.path is not None and self.rows:
            with open(self.path, "a", encoding="utf-8") as f:
                for r in self.rows:
                    f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
            self.rows = []


def _truncate(raw: Any, limit: int = 2000) -> Any:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "...<truncated>"


def load_records(
    path: str | Path,
    parse: Callable[[dict[str, Any]], T],
    rejects: Rejects | None = None,
    raw_rows: Iterable[dict[str, Any]] | None = None,
) -> list[T]:
    """Parses each JSON row with `parse`; rows that fail go to `rejects` (or raise when None).

    `raw_rows` lets a caller pass rows it already read (e.g. a JSON array file); default reads JSONL.
    """
    out: list[T] = []
    if raw_rows is None:
        raw_rows = _iter_lines_lenient(path, rejects)
    for idx, row in enumerate(raw_rows, 1):
        if isinstance(row, _BadLine):
            continue
        try:
            out.append(parse(row))
        except (ValueError, KeyError, TypeError, IndexError) as e:
            reason = f"{type(e).__name__}: {e}"
            if rejects is None:
                raise ValueError(f"{path}: row {idx}: {reason}") from e
            rejects.add(path, idx, reason, row)
    return out


class _BadLine(dict):
    pass


def _iter_lines_lenient(path: str | Path, rejects: Rejects | None) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                if rejects is None:
                    raise ValueError(f"{path}:{lineno}: invalid JSON: {e}") from e
                rejects.add(path, lineno, f"invalid JSON: {e}", line[:2000])
                yield _BadLine()


def read_json_or_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Reads a JSON array/object file or a JSONL file (decided by content, not extension)."""
    text = Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON array")
        return data
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            for key in ("data", "rows", "examples"):
                if isinstance(data.get(key), list):
                    return data[key]
            return [data]
    return list(read_jsonl(path))


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
        data = self.path.read_bytes()
        good_end = 0
        pos = 0
        for line in data.splitlines(keepends=True):
            pos += len(line)
            if not line.endswith(b"\n"):
                break  # a partial last line from a killed writer
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            self.rows.append(row)
            self.done.add(self.key(row))
            good_end = pos
        if good_end != len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)

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
