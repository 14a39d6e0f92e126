"""The three training formats of data.render, built from kept trajectories.

sft_skill:  the teacher's conversation (up to its last assistant turn; the "Verdict recorded." tool
            reply after final_answer teaches nothing) with the target tokenizer's chat template and
            tool syntax (`ensure_tool_template`), tools = `tool_specs(setting)`, via `render_with_mask`.
sft_direct: the traditional fine-tuned judge on exactly the same (task, order, verdict) and the same
            inputs: the direct-judge prompt of the skill trajectory's setting twin
            (model.protocol.twin: skill_fair -> baseline, skill_operational -> baseline_operational,
            whose prompt carries the sample's resources as text) and one verdict-only assistant turn
            `[[A]]` (the direct judge's output format).
rl:         one row per kept (task, setting): the full task (gold and resources: the GRPO trainer
            scores with them; the runtime rebuilds the prompt), and the prompt for inspection.

Tokenization is the slow part; `encode_all` spreads it over a process pool in input order, so the
result does not depend on the number of workers. Token sequences are int32 numpy arrays (a Python int
list costs ~9x the memory, and they pickle faster between processes).
"""
from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from model.chat_template import (
    IGNORE_INDEX,
    end_of_turn_token,
    ensure_tool_template,
    render_with_mask,
    template_supports_tools,
)
from model.prompts import PromptOptions, initial_messages
from model.records import JudgeTask, Trajectory

FORMATS = ("sft_skill", "sft_direct", "rl")
GREEN, GREY, RESET = "\033[32m", "\033[90m", "\033[0m"
Job = tuple[list[dict[str, Any]], list[dict[str, Any]] | None]  # (messages, the tool schemas to render)
Encoded = tuple[np.ndarray, np.ndarray]  # (input_ids, labels), int32


# ------------------------------------------------------------------------------------------ tokenizer

def prepare_tokenizer(spec: str) -> tuple[Any, dict[str, Any]]:
    """The target tokenizer with a tool-capable chat template, and a description for the card."""
    from model.loading import load_tokenizer

    tok = load_tokenizer(spec)
    own = template_supports_tools(tok)
    ensure_tool_template(tok)
    eot = end_of_turn_token(tok)
    info = {"spec": spec, "name_or_path": str(getattr(tok, "name_or_path", "")), "class": type(tok).__name__,
            "chat_template": ("own (with tool calls)" if own
                              else "project Hermes-style ChatML (model.chat_template)"),
            "end_of_turn": eot, "end_of_turn_id": tok.convert_tokens_to_ids(eot), "vocab_size": len(tok)}
    return tok, info


# ------------------------------------------------------------------------------------------ messages

def skill_messages(traj: Trajectory) -> list[dict[str, Any]]:
    """The trajectory's conversation up to and including its last assistant turn."""
    last = max(i for i, m in enumerate(traj.messages) if m["role"] == "assistant")
    return traj.messages[: last + 1]


def direct_messages(task: JudgeTask, order: list[int], verdict: str, setting: str, options: PromptOptions
                    ) -> list[dict[str, Any]]:
    """The direct judge's prompt in `setting` and a verdict-only answer in its format."""
    answer = {"role": "assistant", "content": f"[[{verdict}]]"}
    return initial_messages(task, order, setting, "", options) + [answer]


# ------------------------------------------------------------------------------------------ encoding

_WORKER: dict[str, Any] = {}


def _init_worker(spec: str) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if _WORKER.get("spec") != spec:  # forked workers inherit the parent's tokenizer
        _WORKER["tok"], _ = prepare_tokenizer(spec)
        _WORKER["spec"] = spec


def _encode(job: Job) -> Encoded | str:
    messages, tools = job
    try:
        ids, labels = render_with_mask(_WORKER["tok"], messages, tools or None)
        return np.asarray(ids, dtype=np.int32), np.asarray(labels, dtype=np.int32)
    except Exception as e:  # a template error on one conversation is that row's problem, not the run's
        return f"{type(e).__name__}: {e}"


def encode_all(jobs: Sequence[Job], tok: Any, spec: str, workers: int = 1, desc: str = "render",
               progress: bool = True) -> list[Encoded | str]:
    """(input_ids, labels) per job, or the error text; in job order whatever `workers` is."""
    from tqdm import tqdm

    _WORKER.update(tok=tok, spec=spec)
    bar = tqdm(total=len(jobs), desc=desc, unit="ex", disable=not progress, file=sys.stderr)
    out: list[Encoded | str] = []
    if workers <= 1 or len(jobs) < 2 * workers:
        for job in jobs:
            out.append(_encode(job))
            bar.update()
    else:
        chunk = max(1, min(64, len(jobs) // (workers * 8)))
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(spec,)) as pool:
            for r in pool.map(_encode, jobs, chunksize=chunk):
                out.append(r)
                bar.update()
    bar.close()
    return out


# ------------------------------------------------------------------------------------------ rows

def _base(task: JudgeTask, setting: str, order: list[int], verdict: str | None) -> dict[str, Any]:
    return {"task_id": task.id, "source": task.source, "domain": task.domain, "setting": setting,
            "order": list(order), "verdict": verdict}


def sft_row(task: JudgeTask, setting: str, order: list[int], verdict: str | None,
            messages: list[dict[str, Any]], encoded: Encoded, **extra: Any) -> dict[str, Any]:
    """One SFT example; `messages` is kept for the JSONL (people read it), not for the Arrow dataset."""
    ids, labels = encoded
    return {**_base(task, setting, order, verdict), **extra, "n_tokens": int(len(ids)),
            "n_trained": int((labels != IGNORE_INDEX).sum()), "messages": messages,
            "input_ids": ids, "labels": labels}


def rl_row(task: JudgeTask, setting: str, skill_catalog: str, options: PromptOptions) -> dict[str, Any]:
    identity = list(range(len(task.candidates)))
    return {"task_id": task.id, "source": task.source, "domain": task.domain, "setting": setting,
            "gold": task.gold,
            "prompt_messages": initial_messages(task, identity, setting, skill_catalog, options),
            "task": task.to_dict()}


def trains_token(ids: np.ndarray, labels: np.ndarray, token_id: int) -> bool:
    return bool(np.any((np.asarray(ids) == token_id) & (np.asarray(labels) != IGNORE_INDEX)))


def coloured(tok: Any, ids: Sequence[int], labels: Sequence[int]) -> str:
    """The example as text: trained tokens green, masked tokens grey."""
    parts = []
    pairs = zip(np.asarray(ids).tolist(), np.asarray(labels).tolist())
    for trained, group in itertools.groupby(pairs, key=lambda p: p[1] != IGNORE_INDEX):
        parts.append((GREEN if trained else GREY) + tok.decode([i for i, _ in group]) + RESET)
    return "".join(parts)
