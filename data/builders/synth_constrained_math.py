"""Synthetic math word problems that also state a format constraint: tasks that need two pieces of evidence.

The request is a `synth_arithmetic` word problem plus one explicit, checkable format rule (end with a
phrase, all lowercase, a postscript, no commas, a title, the whole reply in quotes). The good response
is the correct worked solution, written to follow the rule. The bad one fails exactly one of the two
requirements, each half of the time: a wrong solution that follows the rule (the single error of
`synth_arithmetic`), or the correct solution with the rule broken (a minimal `ifeval_edits`
violation). A judge must therefore check both the answer and the rule. The caller proves the pair.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from data.builders import ifeval_edits, synth_arithmetic
from model.verifiers import ifeval

END_PHRASES = ("Is there anything else I can help with?", "Let me know if you have additional questions.",
               "Hope this helps.")
TITLES = ("<<Solution>>", "<<Step by Step>>", "<<Working It Out>>")
POSTSCRIPTS = ("Always double-check each step.", "Writing every step makes errors easy to spot.")
REQUEST_STYLES = ("{q}\n\n{Rule}.", "{q} Please {rule}.", "{q}\nConstraint: {rule}.")


def _rule(rng: random.Random) -> tuple[str, dict[str, Any], Callable[[str], str]]:
    """(instruction id, kwargs, a transform that makes a solution follow it)."""
    kind = rng.choice(("startend:end_checker", "change_case:english_lowercase", "detectable_content:postscript",
                       "punctuation:no_comma", "detectable_format:title", "startend:quotation"))
    if kind == "startend:end_checker":
        phrase = rng.choice(END_PHRASES)
        return kind, {"end_phrase": phrase}, lambda t: f"{t}\n{phrase}"
    if kind == "detectable_content:postscript":
        note = rng.choice(POSTSCRIPTS)
        return kind, {"postscript_marker": "P.S."}, lambda t: f"{t}\n\nP.S. {note}"
    if kind == "detectable_format:title":
        title = rng.choice(TITLES)
        return kind, {}, lambda t: f"{title}\n{t}"
    if kind == "change_case:english_lowercase":
        return kind, {}, str.lower
    if kind == "punctuation:no_comma":
        return kind, {}, lambda t: t.replace(", ", " ").replace(",", "")
    return kind, {}, lambda t: f'"{t}"'


def make_pair(rng: random.Random, level: str, templates: tuple = synth_arithmetic.TEMPLATES) -> dict[str, Any] | None:
    """{prompt, good, bad, answer, constraints, violated, perturbation} or None when the draw fails its proof."""
    base = synth_arithmetic.make_pair(rng, level, templates)
    if base is None:
        return None
    iid, kwargs, follow = _rule(rng)
    constraint = {"id": iid, "kwargs": kwargs}
    good = follow(base["good"])
    if not ifeval.check(iid, kwargs, good):
        return None
    if rng.random() < 0.5:
        bad, violated, what = follow(base["bad"]), "answer", f"{base['error']} in step {base['error_step']}"
        if not ifeval.check(iid, kwargs, bad):
            return None
    else:
        edits = [(d, e) for d, e in ifeval_edits.violations(iid, good, kwargs, "", rng)
                 if not ifeval.check(iid, kwargs, e)]
        if not edits:
            return None
        what, bad = rng.choice(edits)
        violated, what = iid, f"{iid}: {what}"
    rule = ifeval.describe(iid, kwargs)
    prompt = rng.choice(REQUEST_STYLES).format(q=base["question"], rule=rule, Rule=rule[:1].upper() + rule[1:])
    return {"prompt": prompt, "good": good, "bad": bad, "answer": base["answer"], "constraints": [constraint],
            "violated": violated, "perturbation": what, "template": base["template"]}
