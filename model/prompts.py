"""What the judge sees: the system prompt per setting and the user message for one task in one order.

This module is the only place a task becomes judge-visible text. It reads the prompt, the candidates
in the given order, and, in the settings with sample resources (model.protocol), the sample's
resources: their *names* for a skill judge (it reads them through its tools), their text for a direct
judge. Never `gold`, `meta`, `domain` or the dataset's own order; tests/test_leakage.py checks that.
"""
from __future__ import annotations

from dataclasses import dataclass

from model.protocol import PROMPT_STYLES, get_setting
from model.records import LABELS, JudgeTask, Resources

COMPACT_TOOLS = ("use_skill(skill_name, reason), list_resources(type), view_resource(path, reason), "
                 "run_resource(resource_id, reason, args), python_sandbox(code, reason), "
                 "final_answer(verdict, confidence, used_resources, reason)")


@dataclass
class PromptOptions:
    max_candidate_chars: int | None = None  # truncate very long candidates (marked) for small contexts
    allow_tie: bool = True
    style: str = "full"  # full: tool JSON schemas + skill catalog; compact: one-line tool signatures


def labels_for(task: JudgeTask) -> list[str]:
    return list(LABELS[: len(task.candidates)])


def verdict_choices(task: JudgeTask, allow_tie: bool) -> list[str]:
    if task.kind == "pointwise":
        return []
    labels = labels_for(task)
    return labels + (["tie"] if allow_tie and task.kind == "pairwise" else [])


def _instruction(task: JudgeTask, allow_tie: bool) -> str:
    if task.kind == "pointwise":
        return "Rate the response on a scale from 1 (very poor) to 10 (excellent)."
    n = len(task.candidates)
    if task.kind == "pairwise":
        tie = " Answer tie only if the two are equally good." if allow_tie else ""
        return "Decide which of the two responses better answers the question." + tie
    return f"Decide which one of the {n} responses best answers the question."


def _verdict_format(task: JudgeTask, allow_tie: bool) -> str:
    if task.kind == "pointwise":
        return "[[N]] where N is your rating from 1 to 10"
    options = [f"[[{lab}]]" for lab in verdict_choices(task, allow_tie)]
    return ", ".join(options[:-1]) + " or " + options[-1]


def system_prompt(task: JudgeTask, setting: str, skill_catalog: str = "", allow_tie: bool = True,
                  style: str = "full") -> str:
    """`full` relies on the chat template to list the tools' JSON schemas; `compact` (for small models and
    CPU budgets: ~150 tokens instead of ~1000) names the skills and tool signatures inline."""
    spec = get_setting(setting)
    if style not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt style {style!r}; expected one of {PROMPT_STYLES}")
    if not spec.tools:
        uses = (" The sample's own resources (reference answer, checklist, constraints or tests) follow the "
                "responses: use them." if spec.sample_resources else "")
        return (
            "You are an impartial judge of AI responses. " + _instruction(task, allow_tie) + " "
            "Judge correctness first, then helpfulness and instruction following. The order in which "
            "responses appear and their length must not influence you." + uses + " Explain briefly, then give "
            f"your verdict on the last line as {_verdict_format(task, allow_tie)}."
        )
    choices = verdict_choices(task, allow_tie) or ["an integer rating from 1 to 10"]
    if style == "compact":
        skills = ", ".join(line.split(" - ")[0].lstrip("- ").strip() for line in skill_catalog.splitlines()
                           if line.strip())
        return (
            f"You are a reward judge executing the Reward-Evaluation Skill (skills: {skills}). "
            + _instruction(task, allow_tie) + " Decide easy cases directly; otherwise run only the evidence "
            "that can change the verdict and trust verifiers over impressions.\n"
            f"Tools: {COMPACT_TOOLS}. Call one as <tool_call>{{\"name\": ..., \"arguments\": {{...}}}}</tool_call>.\n"
            "Finish with final_answer; verdict: " + ", ".join(choices) + "."
        )
    return (
        "You are a reward judge that works by executing a Reward-Evaluation Skill. "
        + _instruction(task, allow_tie) + "\n\n"
        "Skills you can load with use_skill:\n" + skill_catalog.strip() + "\n\n"
        "How to work: if the case is easy, decide directly. Otherwise load the skill, select only the "
        "evidence that can change the verdict (a rubric, a verifier, the python sandbox, the sample's "
        "resources), run it, and aggregate it: hard evidence from verifiers outweighs impressions. "
        "Always finish by calling final_answer with verdict (one of: " + ", ".join(choices) + "), "
        "confidence (0 to 1), used_resources (the resource ids you relied on) and a one-sentence reason."
    )


def _format_prompt(task: JudgeTask) -> str:
    if isinstance(task.prompt, str):
        return task.prompt
    return "\n\n".join(f"[{m['role'].capitalize()}]\n{m['content']}" for m in task.prompt)


def _clip(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... truncated {len(text) - limit} characters]"


def user_message(task: JudgeTask, order: list[int], setting: str, options: PromptOptions | None = None) -> str:
    """The task as the judge sees it, candidates in `order` under labels A, B, ..."""
    options = options or PromptOptions()
    if sorted(order) != list(range(len(task.candidates))):
        raise ValueError(f"order {order} is not a permutation of the {len(task.candidates)} candidates")
    parts = [f"[Question]\n{_format_prompt(task)}"]
    if task.kind == "pointwise":
        parts.append(f"[Response]\n{_clip(task.candidates[order[0]], options.max_candidate_chars)}")
    else:
        for pos, idx in enumerate(order):
            parts.append(f"[Response {LABELS[pos]}]\n{_clip(task.candidates[idx], options.max_candidate_chars)}")
    spec = get_setting(setting)
    available = task.resources.available() if spec.sample_resources else []
    if available and spec.tools:
        ids = ", ".join(f"sample.{name}" for name in available)
        parts.append(f"[Sample resources]\nThis sample comes with: {ids} (view_resource to read them).")
    elif available:
        for name in available:
            parts.append(f"[Sample {name}]\n{resource_text(task.resources, name)}")
    return "\n\n".join(parts)


def resource_text(resources: Resources, name: str) -> str:
    """One sample resource as text (what view_resource returns and what a direct judge reads)."""
    value = getattr(resources, name)
    if name == "checklist":
        return "\n".join(f"{i}. {item}" for i, item in enumerate(value, 1))
    if name == "constraints":
        return _describe_constraints(value)
    if name == "tests":
        return f"```python\n{value.rstrip()}\n```"
    return str(value)


def _describe_constraints(constraints: list[dict]) -> str:
    import json

    from model.verifiers.ifeval import describe

    lines = []
    for c in constraints:
        try:
            desc = describe(c["id"], c.get("kwargs"))
        except (KeyError, ValueError):
            desc = json.dumps(c.get("kwargs") or {})
        lines.append(f"- {c['id']}: {desc}")
    return "\n".join(lines)


def initial_messages(task: JudgeTask, order: list[int], setting: str, skill_catalog: str = "",
                     options: PromptOptions | None = None) -> list[dict]:
    options = options or PromptOptions()
    return [
        {"role": "system", "content": system_prompt(task, setting, skill_catalog, options.allow_tie, options.style)},
        {"role": "user", "content": user_message(task, order, setting, options)},
    ]
