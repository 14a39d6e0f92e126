"""Chat-message preference pairs (`text_chosen` / `text_rejected`) -> pairwise JudgeTasks.

E.g. THU-KEG Agentic-Reward-Modeling IFBench (`ifbench_thukeg.converted.json`: text_chosen,
text_rejected, id, domain). Each side is a full conversation ending with an assistant turn.
prompt = the shared message prefix before the final assistant turn (text when it is one user turn),
candidates = [chosen final assistant content, rejected final assistant content], gold 0.
Rows whose prefixes differ are rejected (field 'text_rejected').

id f"{benchmark}-{id}" (or f"{benchmark}-{row}" without an id column); meta: benchmark, subset (the
row's `subset`, else its `domain` value, e.g. IFBench's "level-3"). The row's `domain` is used as the
task domain only when it is one of the project domains; otherwise the `domain` argument is.
"""

from __future__ import annotations

from pathlib import Path

from data.sources._common import (
    Row,
    check_domain,
    collect,
    fail,
    iter_json_rows,
    prompt_from_messages,
    req,
    req_id,
    split_final_assistant,
)
from model.jsonl import Rejects
from model.records import DOMAINS, JudgeTask


def load_chat_pairs(
    path: str | Path,
    benchmark: str = "chat_pairs",
    domain: str = "general",
    chosen_key: str = "text_chosen",
    rejected_key: str = "text_rejected",
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    check_domain(domain)
    path = Path(path)

    def parse(row: Row, rownum: int) -> list[JudgeTask]:
        prefix_c, chosen = split_final_assistant(req(row, chosen_key), chosen_key)
        prefix_r, rejected = split_final_assistant(req(row, rejected_key), rejected_key)
        if prefix_c != prefix_r:
            fail(rejected_key, f"its prompt prefix differs from {chosen_key}'s")
        row_id = req_id(row, "id") if "id" in row else str(rownum)
        upstream = row.get("domain")
        subset = row.get("subset") or upstream or benchmark
        return [
            JudgeTask(
                id=f"{benchmark}-{row_id}",
                source=benchmark,
                kind="pairwise",
                prompt=prompt_from_messages(prefix_c, chosen_key),
                candidates=[chosen, rejected],
                gold=0,
                domain=upstream if upstream in DOMAINS else domain,
                meta={"benchmark": benchmark, "subset": str(subset)},
            )
        ]

    return collect(path, iter_json_rows(path), parse, rejects, limit)
