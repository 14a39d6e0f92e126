"""RM-Bench (THU-KEG/RM-Bench data/) -> 9 pairwise JudgeTasks per row.

Files `{chat,code,math,safety-refuse,safety-response}_filtered.json` (JSON arrays) with rows
`id, prompt, subset, chosen[3], rejected[3]` (+ chat: `error_key, error`; code: `language, task_id`);
`total_dataset.json` rows carry a `domain` field instead of the file name. Styles: 0 concise,
1 detailed plain, 2 detailed markdown.

Task per (i, j) in 3x3: id f"rmbench-{domain}-{row_id}-c{i}r{j}", candidates [chosen[i], rejected[j]],
gold 0. meta: benchmark, row_id, domain (the file domain, e.g. "safety-refuse"), subset (row subset),
chosen_style i, rejected_style j (+ task_id for code). The chat rows' `error_key` / `error` (what is wrong
with the rejected answer) are gold-derived and dropped. resources.metadata.language for code rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from data.sources._common import Row, collect, fail, iter_json_rows, req_id, req_str, req_str_list
from model.jsonl import Rejects
from model.records import JudgeTask, Resources

BENCHMARK = "rmbench"
FILE_DOMAINS = ("chat", "code", "math", "safety-refuse", "safety-response")
TASK_DOMAIN = {
    "chat": "chat",
    "code": "code",
    "math": "math",
    "safety-refuse": "safety",
    "safety-response": "safety",
}
N_STYLES = 3


def file_name(domain: str) -> str:
    return f"{domain}_filtered.json"


def load_rmbench(
    path: str | Path,
    domains: Iterable[str] | None = None,
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    """A folder of `*_filtered.json` files (all present, or `domains`), or one file.

    `limit` counts rows per file. Asking for a domain whose file is absent raises FileNotFoundError.
    """
    path = Path(path)
    wanted = list(domains) if domains is not None else None
    for d in wanted or []:
        if d not in FILE_DOMAINS:
            raise ValueError(f"unknown RM-Bench domain {d!r}; expected one of {FILE_DOMAINS}")
    if path.is_file():
        return load_rmbench_file(path, rejects=rejects, limit=limit, domains=wanted)
    files = []
    for d in wanted or FILE_DOMAINS:
        f = path / file_name(d)
        if f.exists():
            files.append(f)
        elif wanted is not None:
            raise FileNotFoundError(f"{f}: RM-Bench {d!r} file not found")
    if not files:
        raise FileNotFoundError(f"{path}: no RM-Bench *_filtered.json files")
    seen: set[str] = set()
    out: list[JudgeTask] = []
    for f in files:
        out.extend(load_rmbench_file(f, rejects=rejects, limit=limit, _seen=seen))
    return out


def load_rmbench_file(
    path: str | Path,
    rejects: Rejects | None = None,
    limit: int | None = None,
    domains: list[str] | None = None,
    _seen: set[str] | None = None,
) -> list[JudgeTask]:
    path = Path(path)
    file_domain = _domain_from_name(path)

    def parse(row: Row, rownum: int) -> list[JudgeTask]:
        domain = file_domain or req_str(row, "domain")
        if domain not in TASK_DOMAIN:
            fail("domain", f"must be one of {FILE_DOMAINS}, got {domain!r}")
        if domains is not None and domain not in domains:
            return []
        return _tasks(row, domain)

    return collect(path, iter_json_rows(path), parse, rejects, limit, seen_ids=_seen)


def _domain_from_name(path: Path) -> str | None:
    for d in FILE_DOMAINS:
        if path.name == file_name(d):
            return d
    return None


def _tasks(row: Row, domain: str) -> list[JudgeTask]:
    row_id = req_id(row, "id")
    prompt = req_str(row, "prompt")
    subset = req_str(row, "subset")
    chosen = req_str_list(row, "chosen", length=N_STYLES)
    rejected = req_str_list(row, "rejected", length=N_STYLES)
    resources = Resources()
    if isinstance(row.get("language"), str) and row["language"]:
        resources.metadata["language"] = row["language"]
    tasks = []
    for i in range(N_STYLES):
        for j in range(N_STYLES):
            meta = {
                "benchmark": BENCHMARK,
                "row_id": row_id,
                "domain": domain,
                "subset": subset,
                "chosen_style": i,
                "rejected_style": j,
            }
            if row.get("task_id") is not None:
                meta["task_id"] = row["task_id"]
            tasks.append(
                JudgeTask(
                    id=f"rmbench-{domain}-{row_id}-c{i}r{j}",
                    source=BENCHMARK,
                    kind="pairwise",
                    prompt=prompt,
                    candidates=[chosen[i], rejected[j]],
                    gold=0,
                    domain=TASK_DOMAIN[domain],
                    resources=Resources.from_dict(resources.to_dict()),
                    meta=meta,
                )
            )
    return tasks
