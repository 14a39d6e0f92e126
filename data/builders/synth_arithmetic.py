"""Synthetic arithmetic word problems with a correct worked solution and one with a single error.

A story template draws its numbers (ranges grow with the difficulty) and defines the computation as
steps `(name, op, left, right, sentence)`; `left` / `right` name a given number or an earlier step.
The correct solution renders every step; the bad one has exactly one plausible error, carried
through to the final answer:

- slip:            one step's result is off (by one, by ten, swapped digits);
- wrong_operation: one step uses the wrong operation (+ for x, - for +, ...);
- dropped_step:    a step that adjusts the running total is skipped;
- repeated_step:   such a step is applied twice (double counting).

Dropped and repeated steps change the length in opposite directions, so solution length carries no
signal about correctness. Every value stays a non-negative integer (divisions are exact).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from data.builders.arith import slip

ERRORS = ("slip", "wrong_operation", "dropped_step", "repeated_step")
_WRONG_OP = {"+": "-", "-": "+", "*": "+", "/": "*"}
NAMES = tuple("Maya Leo Aisha Tom Priya Diego Hana Omar Sofia Ken Lena Ravi Nora Felix Zoe Sam".split())
INTROS = (
    "",
    "Let's work through this step by step.",
    "We can solve this one step at a time.",
    "Here is the solution.",
    "Let's break the problem down.",
)
ANSWERS = (
    "The answer is {x}.",
    "So the final answer is {x}.",
    "#### {x}",
    "Answer: {x}",
    "Therefore, the answer is {x}.",
)
MUL_SIGNS = ("x", "*", "×")
DIV_SIGNS = ("/", "÷")


@dataclass
class Step:
    name: str
    op: str
    left: str
    right: str
    sentence: str  # placeholders: {l} {r} {op} {v} and any given name
    adjusts: bool = False  # adds to / takes from the running total: may be dropped or repeated


@dataclass
class Problem:
    question: str
    givens: dict[str, Any]
    steps: list[Step]
    meta: dict[str, Any] = field(default_factory=dict)


def _range(
    level: str, easy: tuple[int, int], medium: tuple[int, int], hard: tuple[int, int]
) -> tuple[int, int]:
    return {"easy": easy, "medium": medium, "hard": hard}[level]


def _ri(rng: random.Random, bounds: tuple[int, int]) -> int:
    return rng.randint(*bounds)


# --------------------------------------------------------------------------- story templates


def _savings(rng, level):
    name = rng.choice(NAMES)
    g = {
        "name": name,
        "a": _ri(rng, _range(level, (5, 20), (10, 60), (40, 200))),
        "b": _ri(rng, _range(level, (2, 9), (5, 25), (12, 60))),
        "c": _ri(rng, (2, 6) if level == "easy" else (3, 12)),
        "thing": rng.choice(("a book", "a game", "a jacket", "concert tickets", "a bike lock")),
    }
    g["d"] = rng.randint(1, g["a"] + g["b"] * g["c"] - 1)
    q = (
        f"{name} has ${g['a']}. {name} earns ${g['b']} per week for {g['c']} weeks and then spends ${g['d']} "
        f"on {g['thing']}. How many dollars does {name} have now?"
    )
    steps = [
        Step("s1", "*", "b", "c", "Over {c} weeks {name} earns {l} {op} {r} = {v} dollars."),
        Step(
            "s2",
            "+",
            "a",
            "s1",
            "Adding the {l} dollars {name} already had gives {l} {op} {r} = {v} dollars.",
        ),
        Step(
            "s3",
            "-",
            "s2",
            "d",
            "After spending {r} dollars on {thing}, {name} has {l} {op} {r} = {v} dollars.",
            adjusts=True,
        ),
    ]
    return Problem(q, g, steps)


def _bakery(rng, level):
    item = rng.choice(("muffins", "cookies", "rolls", "bagels", "scones"))
    g = {
        "item": item,
        "a": _ri(rng, _range(level, (2, 6), (4, 12), (8, 25))),
        "b": _ri(rng, _range(level, (3, 8), (6, 15), (10, 24))),
    }
    total = g["a"] * g["b"]
    g["c"] = rng.randint(1, max(1, total // 3))
    g["d"] = rng.randint(1, max(1, total // 3))
    q = (
        f"A bakery makes {g['a']} trays of {item} with {g['b']} {item} on each tray. It sells {g['c']} "
        f"{item} "
        f"in the morning and {g['d']} {item} in the afternoon. How many {item} are left?"
    )
    steps = [
        Step("s1", "*", "a", "b", "The bakery makes {l} {op} {r} = {v} {item}."),
        Step(
            "s2", "-", "s1", "c", "After the morning sales, {l} {op} {r} = {v} {item} remain.", adjusts=True
        ),
        Step(
            "s3", "-", "s2", "d", "After the afternoon sales, {l} {op} {r} = {v} {item} remain.", adjusts=True
        ),
    ]
    return Problem(q, g, steps)


def _reading(rng, level):
    name = rng.choice(NAMES)
    g = {
        "name": name,
        "b": _ri(rng, _range(level, (5, 15), (10, 40), (20, 60))),
        "c": _ri(rng, (2, 5) if level == "easy" else (3, 9)),
    }
    g["a"] = g["b"] * g["c"] + rng.randint(10, 120)
    q = (
        f"{name} is reading a book with {g['a']} pages. {name} reads {g['b']} pages every day for {g['c']} "
        f"days. "
        f"How many pages does {name} still have to read?"
    )
    steps = [
        Step("s1", "*", "b", "c", "In {c} days {name} reads {l} {op} {r} = {v} pages."),
        Step("s2", "-", "a", "s1", "That leaves {l} {op} {r} = {v} pages to read."),
    ]
    if level == "hard":
        g["e"] = rng.randint(5, 20)
        q = q.replace("How many", f"On the next day {name} reads {g['e']} more pages. How many")
        steps.append(
            Step(
                "s3",
                "-",
                "s2",
                "e",
                "After reading {r} more pages, {l} {op} {r} = {v} pages are left.",
                adjusts=True,
            )
        )
    return Problem(q, g, steps)


def _garden(rng, level):
    name = rng.choice(NAMES)
    plant = rng.choice(("tomato plants", "sunflowers", "lettuce heads", "pepper plants", "tulips"))
    g = {
        "name": name,
        "plant": plant,
        "a": _ri(rng, _range(level, (2, 6), (4, 12), (8, 20))),
        "b": _ri(rng, _range(level, (3, 8), (5, 15), (10, 25))),
        "d": _ri(rng, (2, 30)),
    }
    g["c"] = rng.randint(1, max(1, g["a"] * g["b"] // 4))
    q = (
        f"{name} plants {g['a']} rows of {plant} with {g['b']} in each row. {g['c']} of them do not grow, "
        f"and then "
        f"{name} buys {g['d']} more. How many {plant} does {name} have now?"
    )
    steps = [
        Step("s1", "*", "a", "b", "{name} plants {l} {op} {r} = {v} {plant}."),
        Step("s2", "-", "s1", "c", "Since {r} do not grow, {l} {op} {r} = {v} are left.", adjusts=True),
        Step(
            "s3",
            "+",
            "s2",
            "d",
            "With the {r} new ones, {name} has {l} {op} {r} = {v} {plant}.",
            adjusts=True,
        ),
    ]
    return Problem(q, g, steps)


def _trip(rng, level):
    g = {
        "a": rng.choice((40, 45, 50, 55, 60, 65, 70, 80, 90)),
        "b": _ri(rng, (2, 4) if level == "easy" else (2, 7)),
        "c": rng.choice((30, 35, 40, 50, 60, 75)),
        "d": _ri(rng, (1, 3) if level == "easy" else (1, 5)),
        "vehicle": rng.choice(("bus", "train", "truck", "car")),
    }
    q = (
        f"A {g['vehicle']} travels at {g['a']} km per hour for {g['b']} hours and then at {g['c']} km per "
        f"hour "
        f"for {g['d']} hours. How many kilometers does it travel in total?"
    )
    steps = [
        Step("s1", "*", "a", "b", "In the first part it covers {l} {op} {r} = {v} km."),
        Step("s2", "*", "c", "d", "In the second part it covers {l} {op} {r} = {v} km."),
        Step("s3", "+", "s1", "s2", "In total that is {l} {op} {r} = {v} km."),
    ]
    return Problem(q, g, steps)


def _sharing(rng, level):
    name = rng.choice(NAMES)
    g = {
        "name": name,
        "b": _ri(rng, _range(level, (2, 5), (3, 8), (4, 12))),
        "c": _ri(rng, _range(level, (4, 10), (6, 20), (10, 30))),
        "d": rng.choice((2, 3, 4, 5, 6)),
    }
    rest = (g["b"] * g["c"]) % g["d"]
    g["a"] = (g["d"] - rest) % g["d"] + g["d"] * rng.randint(1, 6)
    q = (
        f"{name} has {g['a']} stickers and buys {g['b']} packs with {g['c']} stickers in each pack. {name} "
        f"then "
        f"shares all the stickers equally among {g['d']} friends. How many stickers does each friend get?"
    )
    steps = [
        Step("s1", "*", "b", "c", "The packs hold {l} {op} {r} = {v} stickers."),
        Step(
            "s2", "+", "a", "s1", "Together with the {l} stickers {name} had, there are {l} {op} {r} = {v}."
        ),
        Step("s3", "/", "s2", "d", "Shared among {r} friends, each gets {l} {op} {r} = {v} stickers."),
    ]
    return Problem(q, g, steps)


def _eggs(rng, level):
    name = rng.choice(NAMES)
    g = {"name": name, "c": rng.choice((6, 10, 12)), "b": _ri(rng, (2, 7) if level != "hard" else (5, 14))}
    g["a"] = g["c"] * rng.randint(1, 6)
    q = (
        f"{name} collects {g['a']} eggs every day for {g['b']} days and packs them into cartons of "
        f"{g['c']} eggs. "
        f"How many cartons does {name} fill?"
    )
    steps = [
        Step("s1", "*", "a", "b", "{name} collects {l} {op} {r} = {v} eggs."),
        Step("s2", "/", "s1", "c", "With {r} eggs per carton, that fills {l} {op} {r} = {v} cartons."),
    ]
    return Problem(q, g, steps)


def _change(rng, level):
    name = rng.choice(NAMES)
    g = {
        "name": name,
        "a": _ri(rng, (2, 6)),
        "b": _ri(rng, _range(level, (2, 5), (3, 9), (6, 15))),
        "c": _ri(rng, (1, 8)),
        "item": rng.choice(("notebooks", "folders", "mugs", "candles", "puzzles")),
    }
    g["d"] = rng.choice([v for v in (20, 50, 100) if v > g["a"] * g["b"] + g["c"]] or [200])
    q = (
        f"{name} buys {g['a']} {g['item']} at ${g['b']} each and a pen for ${g['c']}. {name} pays with a "
        f"${g['d']} bill. How much change does {name} get, in dollars?"
    )
    steps = [
        Step("s1", "*", "a", "b", "The {item} cost {l} {op} {r} = {v} dollars."),
        Step("s2", "+", "s1", "c", "With the pen the total is {l} {op} {r} = {v} dollars.", adjusts=True),
        Step("s3", "-", "d", "s2", "The change is {l} {op} {r} = {v} dollars."),
    ]
    return Problem(q, g, steps)


TEMPLATES = (_savings, _bakery, _reading, _garden, _trip, _sharing, _eggs, _change)


# --------------------------------------------------------------------------- solving and rendering


def solve(
    problem: Problem, error: tuple[str, int] | None = None, rng: random.Random | None = None
) -> list[tuple[Step, int, int, str, int]] | None:
    """The executed steps as (step, left, right, op, value); None when the error gives a non-integer."""
    values = dict(problem.givens)
    done = []
    for k, step in enumerate(problem.steps):
        op = step.op
        kind = error[0] if error and error[1] == k else None
        if kind == "dropped_step":
            values[step.name] = values[step.left]
            continue
        if kind == "wrong_operation":
            op = _WRONG_OP[op]
        left, right = values[step.left], values[step.right]
        value = _compute(op, left, right)
        if value is None:
            return None
        if kind == "slip":
            value = int(slip(value, rng or random.Random(0)))
        done.append((step, left, right, op, value))
        if kind == "repeated_step":
            again = _compute(op, value, right)
            if again is None:
                return None
            done.append((step, value, right, op, again))
            value = again
        if value < 0:
            return None
        values[step.name] = value
    return done


def _compute(op: str, left: int, right: int) -> int | None:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0 or left % right:
        return None
    return left // right


def render(problem: Problem, executed: list[tuple[Step, int, int, str, int]], style: dict[str, str]) -> str:
    lines = [style["intro"]] if style["intro"] else []
    for step, left, right, op, value in executed:
        shown = {"*": style["mul"], "/": style["div"]}.get(op, op)
        lines.append(step.sentence.format(l=left, r=right, op=shown, v=value, **problem.givens))
    lines.append(style["answer"].format(x=executed[-1][4]))
    return "\n".join(lines)


def make_pair(rng: random.Random, level: str, templates: tuple = TEMPLATES) -> dict[str, Any] | None:
    """{question, good, bad, answer, error, template} or None when this draw admits no error."""
    template = rng.choice(templates)
    problem = template(rng, level)
    correct = solve(problem)
    if correct is None:
        return None
    answer = correct[-1][4]
    style = {
        "intro": rng.choice(INTROS),
        "answer": rng.choice(ANSWERS),
        "mul": rng.choice(MUL_SIGNS),
        "div": rng.choice(DIV_SIGNS),
    }
    options = [
        (e, k)
        for e in ERRORS
        for k, s in enumerate(problem.steps)
        if e not in ("dropped_step", "repeated_step") or s.adjusts
    ]
    rng.shuffle(options)
    for err in options:
        wrong = solve(problem, err, rng)
        if wrong is None or wrong[-1][4] == answer:
            continue
        return {
            "question": problem.question,
            "good": render(problem, correct, style),
            "bad": render(problem, wrong, style),
            "answer": str(answer),
            "error": err[0],
            "error_step": err[1] + 1,
            "template": template.__name__.strip("_"),
        }
    return None
