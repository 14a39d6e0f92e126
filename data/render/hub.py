"""Pushes rendered datasets and their card to the Hugging Face Hub, only when asked.

Layout (one commit): `<format>/train-0000i-of-0000n.parquet` per format (shards of <= 500 MB) and
README.md, whose front matter declares the configs, so `load_dataset(repo, "sft_skill")` works.
Failures raise; nothing reports a push that did not happen.
"""
from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

MAX_SHARD_BYTES = 500 * 1024 * 1024


def stage(out_dir: Path, formats: list[str], staging: Path) -> list[Path]:
    """Writes the Hub layout of `out_dir` into `staging`; returns the files."""
    import datasets

    files = []
    for fmt in formats:
        ds = datasets.load_from_disk(str(out_dir / fmt))
        n = max(1, math.ceil(ds.data.nbytes / MAX_SHARD_BYTES))
        (staging / fmt).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            path = staging / fmt / f"train-{i:05d}-of-{n:05d}.parquet"
            ds.shard(n, i, contiguous=True).to_parquet(str(path))
            files.append(path)
    shutil.copy(out_dir / "README.md", staging / "README.md")
    files.append(staging / "README.md")
    return files


def push_to_hub(out_dir: str | Path, repo_id: str, formats: list[str], private: bool = True,
                api: Any = None) -> str:
    """Creates the dataset repo if needed and uploads everything in one commit; returns the commit URL."""
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="render-hub-") as tmp:
        stage(out_dir, formats, Path(tmp))
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(folder_path=tmp, repo_id=repo_id, repo_type="dataset",
                                 commit_message=f"data.render: {', '.join(formats)} + card")
    return str(getattr(info, "commit_url", info))
