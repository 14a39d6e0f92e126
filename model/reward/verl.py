"""verl's custom reward function, backed by the process-wide judge reward (model/reward/shared.py).

    custom_reward_function.path=model/reward/verl.py custom_reward_function.name=compute_score
    # with reward_model.reward_manager=batch: custom_reward_function.name=compute_score_batch
    # the judge: SKILLRM_REWARD_* environment variables, or custom_reward_function.reward_kwargs

The `naive` / `prime` reward managers call `compute_score(data_source=, solution_str=, ground_truth=,
extra_info=)` per sample with the decoded response only (no prompt: it must be in extra_info) and accept
a float or a dict with a "score" key; the `batch` manager calls `compute_score(data_sources=,
solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)` once per batch.

verl loads this file by path (`importlib.util.spec_from_file_location("custom_module", path)`), not as
`model.reward.verl`; it is the one module of the project that then puts the repo root on sys.path.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __name__ != "model.reward.verl":  # loaded by file path: make this repository's `model` importable
    _ROOT = Path(__file__).resolve().parents[2]
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    import model as _model

    if Path(_model.__file__).resolve().parent.parent != _ROOT:
        raise ImportError(f"{__file__}: another package named 'model' is already imported ({_model.__file__}); "
                          f"the judge reward needs {_ROOT / 'model'}")

from model.reward.inputs import RewardResult, to_plain, verl_sample  # noqa: E402
from model.reward.shared import reward_config, shared_reward  # noqa: E402


def _output(result: RewardResult, return_dict: bool) -> float | dict[str, Any]:
    score = float(result.reward) if result.reward is not None else 0.0
    if not return_dict:
        return score
    return {"score": score, "judge_ok": float(result.ok), "judge_timeout": float(result.timed_out),
            "judge_tool_calls": float(result.tool_calls)}


def compute_score(data_source: Any, solution_str: Any, ground_truth: Any, extra_info: Any = None,
                  **kwargs: Any) -> float | dict[str, Any]:
    """One sample -> a float in [0, 1]. With return_dict (SKILLRM_REWARD_RETURN_DICT=1 or reward_kwargs)
    it returns {"score", "judge_ok", "judge_timeout", "judge_tool_calls"}, which verl logs as
    reward_extra_info. data_source is not used: every source is judged the same way."""
    reward = shared_reward(**kwargs)
    [result] = reward.score([verl_sample(solution_str, ground_truth, extra_info)])
    return _output(result, reward_config(**kwargs).return_dict)


def compute_score_batch(data_sources: Sequence[Any], solution_strs: Sequence[Any], ground_truths: Sequence[Any],
                        extra_infos: Sequence[Any] | None = None, **kwargs: Any) -> list[float | dict[str, Any]]:
    """`reward_model.reward_manager=batch`: the whole batch in one judge call."""
    reward = shared_reward(**kwargs)
    infos = list(to_plain(extra_infos)) if extra_infos is not None else [None] * len(solution_strs)
    samples = [verl_sample(s, g, e) for s, g, e in zip(solution_strs, ground_truths, infos)]
    return_dict = reward_config(**kwargs).return_dict
    return [_output(r, return_dict) for r in reward.score(samples)]
