"""Any Hugging Face preference dataset (Hub id or local path) + a column mapping -> pairwise JudgeTasks.

Two mapping shapes:
(a) chosen / rejected columns, each text or a chat-message list ending with the assistant response;
    the prompt is the shared message prefix when the responses are conversations (e.g.
    Skywork-Reward-Preference: chosen/rejected = [user, assistant]), else the `prompt` column
    (e.g. UltraFeedback-binarized has a `prompt` string and chosen/rejected message lists; the
    prefix is used there too, it equals the prompt). Prefixes that differ -> reject.
(b) two responses + a signed preference column (HelpSteer3: context (messages), response1, response2,
    overall_preference in -3..3, negative = response1 better). 0 = no preference -> reject
    ("no preference"). `preference_sign=-1` says a negative value prefers response_a.

candidates = [preferred, other], gold 0. id f"{benchmark}-{id column}" or f"{benchmark}-{split}-{row}".
meta: benchmark, subset (the subset column's value, else the split), split, row (+ strength: |preference|
for shape b). domain: `domain_map[value of the domain column]`, else `default_domain`.

Presets (`PRESETS`): "skywork" (Skywork/Skywork-Reward-Preference-80K-v0.2, train), "helpsteer3"
(nvidia/HelpSteer3, config "preference", train), "ultrafeedback" (HuggingFaceH4/ultrafeedback_binarized,
train_prefs). `load_hf_preference(path, mapping="helpsteer3")` uses a preset's mapping (and its Hub id,
config and split when those are not given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data.sources._common import (
    Row,
    as_messages,
    check_domain,
    collect,
    fail,
    is_messages,
    prompt_from_messages,
    req,
    req_id,
    response_text,
    split_final_assistant,
)
from data.sources._hf import load_rows
from model.jsonl import Rejects
from model.records import JudgeTask


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns hold what. Set chosen/rejected (shape a) or response_a/response_b/preference (b)."""

    prompt: str | None = "prompt"
    chosen: str | None = "chosen"
    rejected: str | None = "rejected"
    response_a: str | None = None
    response_b: str | None = None
    preference: str | None = None
    preference_sign: int = -1  # the sign of `preference` that means response_a is better
    id: str | None = None
    subset: str | None = None
    domain: str | None = None
    domain_map: Mapping[str, str] = field(default_factory=dict)
    default_domain: str = "general"

    @property
    def signed(self) -> bool:
        return self.preference is not None


@dataclass(frozen=True)
class Preset:
    dataset: str
    split: str
    config_name: str | None
    mapping: ColumnMapping


PRESETS: dict[str, Preset] = {
    "skywork": Preset(
        dataset="Skywork/Skywork-Reward-Preference-80K-v0.2",
        split="train",
        config_name=None,
        mapping=ColumnMapping(
            prompt=None,
            subset="source",
            domain="source",
            domain_map={"wildguard": "safety"},
            default_domain="chat",
        ),
    ),
    "helpsteer3": Preset(
        dataset="nvidia/HelpSteer3",
        split="train",
        config_name="preference",
        mapping=ColumnMapping(
            prompt="context",
            chosen=None,
            rejected=None,
            response_a="response1",
            response_b="response2",
            preference="overall_preference",
            preference_sign=-1,
            subset="domain",
            domain="domain",
            domain_map={"code": "code", "general": "chat", "multilingual": "chat", "stem": "general"},
        ),
    ),
    "ultrafeedback": Preset(
        dataset="HuggingFaceH4/ultrafeedback_binarized",
        split="train_prefs",
        config_name=None,
        mapping=ColumnMapping(prompt="prompt", id="prompt_id", default_domain="chat"),
    ),
}


def load_hf_preference(
    name_or_path: str | Path | None = None,
    split: str | None = None,
    mapping: ColumnMapping | str = ColumnMapping(),
    config_name: str | None = None,
    benchmark: str | None = None,
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    preset_name = mapping if isinstance(mapping, str) else None
    if preset_name is not None:
        if preset_name not in PRESETS:
            raise ValueError(f"unknown preset {preset_name!r}; expected one of {sorted(PRESETS)}")
        preset = PRESETS[preset_name]
        mapping = preset.mapping
        name_or_path = name_or_path or preset.dataset
        split = split or preset.split
        if config_name is None and not Path(name_or_path).exists():
            config_name = preset.config_name
    if name_or_path is None:
        raise ValueError("name_or_path is required without a preset")
    assert isinstance(mapping, ColumnMapping)
    _check_mapping(mapping)
    split = split or "train"
    benchmark = benchmark or preset_name or Path(str(name_or_path)).stem or str(name_or_path)
    label, rows = load_rows(name_or_path, split=split, config_name=config_name)

    def parse(row: Row, rownum: int) -> list[JudgeTask]:
        return [_task(row, rownum, mapping, benchmark, split)]

    return collect(label, rows, parse, rejects, limit)


def _check_mapping(m: ColumnMapping) -> None:
    if m.signed:
        if not (m.response_a and m.response_b and m.prompt):
            raise ValueError("a signed-preference mapping needs prompt, response_a and response_b columns")
        if m.preference_sign not in (-1, 1):
            raise ValueError("preference_sign must be -1 or 1")
    elif not (m.chosen and m.rejected):
        raise ValueError("a mapping needs chosen and rejected columns (or response_a/response_b/preference)")
    check_domain(m.default_domain, "mapping.default_domain")
    for value in m.domain_map.values():
        check_domain(value, "mapping.domain_map")


def _task(row: Row, rownum: int, m: ColumnMapping, benchmark: str, split: str) -> JudgeTask:
    meta: dict[str, Any] = {"benchmark": benchmark}
    if m.signed:
        prompt, candidates, strength = _signed(row, m)
        meta["strength"] = strength
    else:
        prompt, candidates = _chosen_rejected(row, m)
    row_id = req_id(row, m.id) if m.id else f"{split}-{rownum}"
    subset = row.get(m.subset) if m.subset else None
    meta.update({"subset": str(subset) if subset not in (None, "") else split, "split": split, "row": rownum})
    upstream_domain = row.get(m.domain) if m.domain else None
    return JudgeTask(
        id=f"{benchmark}-{row_id}",
        source=benchmark,
        kind="pairwise",
        prompt=prompt,
        candidates=candidates,
        gold=0,
        domain=m.domain_map.get(str(upstream_domain), m.default_domain),
        meta=meta,
    )


def _chosen_rejected(row: Row, m: ColumnMapping) -> tuple[Any, list[str]]:
    assert m.chosen and m.rejected
    chosen, rejected = req(row, m.chosen), req(row, m.rejected)
    if is_messages(chosen) or is_messages(rejected):
        prefix_c, text_c = split_final_assistant(chosen, m.chosen)
        prefix_r, text_r = split_final_assistant(rejected, m.rejected)
        if prefix_c != prefix_r:
            fail(m.rejected, f"its prompt prefix differs from {m.chosen}'s")
        if prefix_c:
            return prompt_from_messages(prefix_c, m.chosen), [text_c, text_r]
        return _prompt_column(row, m), [text_c, text_r]
    return _prompt_column(row, m), [response_text(chosen, m.chosen), response_text(rejected, m.rejected)]


def _signed(row: Row, m: ColumnMapping) -> tuple[Any, list[str], int]:
    assert m.response_a and m.response_b and m.preference
    a = response_text(req(row, m.response_a), m.response_a)
    b = response_text(req(row, m.response_b), m.response_b)
    pref = req(row, m.preference)
    if isinstance(pref, bool) or not isinstance(pref, (int, float)):
        fail(m.preference, f"must be a number, got {pref!r}")
    if pref == 0:
        fail(m.preference, "no preference (0)")
    a_better = (pref < 0) == (m.preference_sign < 0)
    return _prompt_column(row, m), ([a, b] if a_better else [b, a]), abs(int(pref))


def _prompt_column(row: Row, m: ColumnMapping) -> Any:
    if not m.prompt:
        fail("prompt", "responses carry no prompt messages and the mapping has no prompt column")
    value = req(row, m.prompt)
    if isinstance(value, str):
        if not value.strip():
            fail(m.prompt, "must be non-empty")
        return value
    return prompt_from_messages(as_messages(value, m.prompt), m.prompt)
