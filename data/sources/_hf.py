"""Rows of a Hugging Face dataset, by Hub id or by local path, through `datasets`.

One code path for the Hub and for local copies:
- a Hub id (no such local path): `load_dataset(id, config_name, split=...)`;
- a `Dataset.save_to_disk` / `DatasetDict.save_to_disk` folder: `load_from_disk` (+ split);
- any other folder (a downloaded dataset repo with parquet/json files): `load_dataset(folder, ...)`;
- a file: `load_dataset("json" | "parquet" | "csv", data_files={split: path})`.

A local JSON/JSONL file that Arrow cannot read as one table (e.g. one row has a string where the others
have a list) is re-read row by row with the plain JSON reader, so that the adapter can reject the bad
row instead of failing the whole file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from data.sources._common import iter_json_rows

log = logging.getLogger(__name__)

_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists())


def load_rows(
    name_or_path: str | Path,
    split: str | None = None,
    config_name: str | None = None,
) -> tuple[str, Iterator[tuple[int, Any]]]:
    """(label for rejects, iterator of (1-based row number, row dict))."""
    path = Path(name_or_path)
    if path.exists():
        if path.is_file():
            return str(path), _file_rows(path, split)
        if is_saved_dataset(path):
            return str(path), _enumerate(_from_disk(path, split))
        import datasets

        ds = datasets.load_dataset(str(path), config_name, split=split or "train")
        return str(path), _enumerate(ds)
    import datasets

    ds = datasets.load_dataset(str(name_or_path), config_name, split=split or "train")
    label = f"{name_or_path}" + (f"/{config_name}" if config_name else "") + f"[{split or 'train'}]"
    return label, _enumerate(ds)


def _enumerate(ds: Any) -> Iterator[tuple[int, Any]]:
    yield from enumerate(ds, 1)


def _from_disk(path: Path, split: str | None) -> Any:
    import datasets

    obj = datasets.load_from_disk(str(path))
    if isinstance(obj, datasets.DatasetDict):
        if split is None:
            if len(obj) != 1:
                raise ValueError(f"{path}: saved DatasetDict has splits {list(obj)}; pass split=")
            return next(iter(obj.values()))
        if split not in obj:
            raise ValueError(f"{path}: no split {split!r} (has {list(obj)})")
        return obj[split]
    return obj


def _file_rows(path: Path, split: str | None) -> Iterator[tuple[int, Any]]:
    builder = _FILE_BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r} (json, jsonl, parquet, csv)")
    import datasets

    split = split or "train"
    try:
        ds = datasets.load_dataset(builder, data_files={split: str(path)}, split=split)
    except Exception as e:  # noqa: BLE001 - Arrow/builder errors have many types
        if builder != "json":
            raise
        log.warning("%s: datasets could not read it as one table (%s); reading rows one by one", path, e)
        return iter_json_rows(path)
    return _enumerate(ds)


def column_names(name_or_path: str | Path) -> list[str] | None:
    """Column names of a local parquet file or saved dataset, without loading rows (None if unknown)."""
    path = Path(name_or_path)
    if path.is_file() and path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if is_saved_dataset(path):
        split = _first_split(path) if (path / "dataset_dict.json").exists() else None
        return list(_from_disk(path, split).column_names)
    return None


def _first_split(path: Path) -> str:
    import json

    splits = json.loads((path / "dataset_dict.json").read_text()).get("splits") or []
    if not splits:
        raise ValueError(f"{path}: dataset_dict.json lists no splits")
    return splits[0]
