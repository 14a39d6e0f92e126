"""Synthetic instruction-following tasks: a request with 1-2 IFEval-style constraints from the registry.

The good response is assembled from word banks so that it satisfies every constraint (sentences
without commas, keywords drawn from a bank the sentences never use, the structure each constraint
asks for); the bad response is the minimal `ifeval_edits` violation of one constraint that leaves
the others satisfied. Numeric thresholds are set from the good response itself and the relation
("at least" / "less than") is drawn at random, so a bad response is as often longer as shorter.
The caller proves both with `model.verifiers.ifeval.check`.
"""

from __future__ import annotations

import random
from typing import Any

from data.builders import ifeval_edits
from model.verifiers import ifeval
from model.verifiers.text import count_words, sentences

TOPICS = (
    "city parks",
    "public libraries",
    "learning to cook",
    "bicycles",
    "tea",
    "mountain hiking",
    "rainy days",
    "board games",
    "recycling",
    "the night sky",
    "trains",
    "gardening",
    "museums",
    "autumn",
    "music lessons",
    "volunteering",
    "honeybees",
    "old maps",
    "lighthouses",
    "bread baking",
)
ADJECTIVES = ("calm", "fresh", "rewarding", "simple", "lively", "familiar", "surprising", "gentle")
ABSTRACT = ("balance", "curiosity", "patience", "community", "change", "craft", "attention", "memory")
SOURCES = ("local experts", "old books", "young students", "careful observation", "long conversations")
SENTENCES = (
    "{T} can teach us a lot about {abstract}.",
    "Many people enjoy {t} because it feels {adj}.",
    "A {adj} morning is a good time to think about {t}.",
    "There is always something new to notice about {t}.",
    "Some of the best ideas about {t} come from {source}.",
    "It takes {abstract} to understand {t} well.",
    "{T} often looks different from one place to another.",
    "Friends and neighbors can share what they know about {t}.",
    "Small habits can make {t} part of everyday life.",
    "Learning about {t} is easier with a clear plan.",
    "People who care about {t} tend to ask good questions.",
    "The history of {t} is full of surprises.",
    "Even a short walk can change how you see {t}.",
    "Good tools make {t} more {adj}.",
    "Nobody needs to be an expert to start with {t}.",
    "Over time {t} becomes more {adj} and more personal.",
)
KEYWORDS = tuple(
    "harbor lantern compass meadow violin pebble orchard canvas whistle ribbon candle feather puzzle "
    "anchor marble kettle".split()
)
KEYWORD_SENTENCES = (
    "A {w} is a useful image when thinking about {t}.",
    "Think of a {w} when you picture {t}.",
    "Even a {w} can be part of {t}.",
    "The idea of a {w} fits {t} surprisingly well.",
)
PLACEHOLDERS = ("name", "address", "phone number", "email", "city", "date", "company", "time")
PLACEHOLDER_SENTENCES = (
    "Please contact [{p}] for more details.",
    "You can write the [{p}] here.",
    "Remember to add the [{p}] before sharing this.",
)
END_PHRASES = (
    "Is there anything else I can help with?",
    "Let me know if you have additional questions.",
    "Thank you for reading.",
    "Any other questions?",
)
TASKS = (
    "Write a short text about {t}.",
    "Write a few sentences about {t} for a school newsletter.",
    "Tell me about {t}.",
    "Describe {t} to someone who has never thought about it.",
    "Share some thoughts on {t}.",
    "Write a brief note on why {t} can matter to people.",
)
REQUEST_STYLES = (
    "{task}\n\nRequirements:\n{bullets}",
    "{task} Your answer must follow these rules: {inline}.",
    "{task} ({inline})",
    "{task}\nConstraints: {inline}.",
)

MENU = (
    "punctuation:no_comma",
    "change_case:english_lowercase",
    "change_case:english_capital",
    "length_constraints:number_words",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
    "keywords:existence",
    "keywords:forbidden_words",
    "keywords:frequency",
    "detectable_format:title",
    "detectable_format:number_bullet_lists",
    "detectable_content:postscript",
    "startend:end_checker",
    "startend:quotation",
    "detectable_format:number_highlighted_sections",
    "detectable_content:number_placeholders",
)
CONFLICTS = {
    frozenset(("change_case:english_lowercase", "change_case:english_capital")),
    frozenset(("detectable_format:number_bullet_lists", "length_constraints:number_paragraphs")),
    frozenset(("startend:quotation", "startend:end_checker")),
}
SIZES = {"easy": (3, 4), "medium": (4, 7), "hard": (7, 10)}
N_CONSTRAINTS = {"easy": (1,), "medium": (1, 2), "hard": (2,)}


def pick_constraints(rng: random.Random, level: str, menu: tuple[str, ...] = MENU) -> list[str]:
    n = rng.choice(N_CONSTRAINTS[level])
    while True:
        ids = rng.sample(menu, n)
        if n == 1 or frozenset(ids) not in CONFLICTS:
            return ids


def make_pair(rng: random.Random, level: str, menu: tuple[str, ...] = MENU) -> dict[str, Any] | None:
    """{prompt, good, bad, constraints, violated, perturbation} or None when this draw fails its proof."""
    topic = rng.choice(TOPICS)
    ids = pick_constraints(rng, level, menu)
    kwargs: dict[str, dict[str, Any]] = {i: {} for i in ids}
    good = _compose(rng, topic, ids, kwargs, level)
    constraints = [{"id": i, "kwargs": kwargs[i]} for i in ids]
    if any(not ifeval.check(c["id"], c["kwargs"], good) for c in constraints):
        return None
    targets = list(range(len(ids)))
    rng.shuffle(targets)
    for k in targets:
        edits = ifeval_edits.violations(ids[k], good, kwargs[ids[k]], "", rng)
        rng.shuffle(edits)  # adding and removing edits alike, so length says nothing about the gold
        for desc, bad in edits:
            failing = [c["id"] for c in constraints if not ifeval.check(c["id"], c["kwargs"], bad)]
            if failing == [ids[k]]:
                return {
                    "prompt": _request(rng, topic, constraints),
                    "good": good,
                    "bad": bad,
                    "constraints": constraints,
                    "violated": ids[k],
                    "perturbation": f"{ids[k]}: {desc}",
                }
    return None


# --------------------------------------------------------------------------- composing a good response


def _sentence(rng: random.Random, topic: str) -> str:
    return rng.choice(SENTENCES).format(
        t=topic,
        T=topic[:1].upper() + topic[1:],
        adj=rng.choice(ADJECTIVES),
        abstract=rng.choice(ABSTRACT),
        source=rng.choice(SOURCES),
    )


def _compose(
    rng: random.Random, topic: str, ids: list[str], kwargs: dict[str, dict[str, Any]], level: str
) -> str:
    body = [_sentence(rng, topic) for _ in range(rng.randint(*SIZES[level]))]
    body = list(dict.fromkeys(body))
    words = rng.sample(KEYWORDS, 4)
    if "keywords:existence" in ids:
        kwargs["keywords:existence"] = {"keywords": words[: rng.choice((1, 2))]}
        for w in kwargs["keywords:existence"]["keywords"]:
            _insert(rng, body, rng.choice(KEYWORD_SENTENCES).format(w=w, t=topic))
    if "keywords:frequency" in ids:
        freq = rng.randint(1, 3)
        for _ in range(freq):
            _insert(rng, body, rng.choice(KEYWORD_SENTENCES).format(w=words[2], t=topic))
        relation = rng.choice(("at least", "less than"))
        kwargs["keywords:frequency"] = {
            "keyword": words[2],
            "relation": relation,
            "frequency": freq if relation == "at least" else freq + 1,
        }
    if "keywords:forbidden_words" in ids:
        kwargs["keywords:forbidden_words"] = {"forbidden_words": [words[3]] + rng.sample(ADJECTIVES, 1)}
        forbidden = kwargs["keywords:forbidden_words"]["forbidden_words"]
        body = [s for s in body if not any(f in s.lower() for f in forbidden)] or [
            f"{topic.capitalize()} matter."
        ]
    if "detectable_content:number_placeholders" in ids:
        n = rng.randint(1, 3)
        for p in rng.sample(PLACEHOLDERS, n):
            _insert(rng, body, rng.choice(PLACEHOLDER_SENTENCES).format(p=p))
        kwargs["detectable_content:number_placeholders"] = {"num_placeholders": n}
    if "detectable_format:number_highlighted_sections" in ids:
        n = rng.randint(1, min(3, len(body)))
        for k in rng.sample(range(len(body)), n):
            body[k] = f"*{body[k]}*"
        kwargs["detectable_format:number_highlighted_sections"] = {"num_highlights": n}
    text = _layout(rng, body, ids, kwargs)
    if "detectable_format:title" in ids:
        text = (
            f"<<{rng.choice(('A Note on', 'Thoughts on', 'About', 'All About'))} {topic.title()}>>\n\n" + text
        )
    if "detectable_content:postscript" in ids:
        marker = rng.choice(("P.S.", "P.P.S"))
        kwargs["detectable_content:postscript"] = {"postscript_marker": marker}
        text += f"\n\n{marker} {_sentence(rng, topic)}"
    if "startend:end_checker" in ids:
        phrase = rng.choice(END_PHRASES)
        kwargs["startend:end_checker"] = {"end_phrase": phrase}
        text += rng.choice(("\n\n", " ")) + phrase
    if "change_case:english_lowercase" in ids:
        text = text.lower()
    if "change_case:english_capital" in ids:
        text = text.upper()
    if "startend:quotation" in ids:
        text = f'"{text}"'
    _set_counts(rng, text, ids, kwargs)
    return text


def _insert(rng: random.Random, body: list[str], sentence: str) -> None:
    body.insert(rng.randint(0, len(body)), sentence)


def _layout(rng: random.Random, body: list[str], ids: list[str], kwargs: dict[str, dict[str, Any]]) -> str:
    if "detectable_format:number_bullet_lists" in ids:
        kwargs["detectable_format:number_bullet_lists"] = {"num_bullets": len(body)}
        mark = rng.choice(("*", "-"))
        intro = rng.choice(("", "Here are a few points:\n"))
        return intro + "\n".join(f"{mark} {s}" for s in body)
    if "length_constraints:number_paragraphs" in ids and len(body) >= 2:
        n = rng.randint(2, min(4, len(body)))
        cuts = sorted(rng.sample(range(1, len(body)), n - 1))
        parts = [" ".join(body[a:b]) for a, b in zip([0] + cuts, cuts + [len(body)])]
        kwargs["length_constraints:number_paragraphs"] = {"num_paragraphs": n}
        return "\n***\n".join(parts)
    if "length_constraints:number_paragraphs" in ids:
        kwargs["length_constraints:number_paragraphs"] = {"num_paragraphs": 1}
    split = rng.random() < 0.4 and len(body) > 3
    if split:
        half = len(body) // 2
        return " ".join(body[:half]) + "\n\n" + " ".join(body[half:])
    return " ".join(body)


def _set_counts(rng: random.Random, text: str, ids: list[str], kwargs: dict[str, dict[str, Any]]) -> None:
    """Thresholds for the length constraints, from the finished good response."""
    for iid, count, key, slack in (
        ("length_constraints:number_words", count_words(text), "num_words", 6),
        ("length_constraints:number_sentences", len(sentences(text)), "num_sentences", 1),
    ):
        if iid not in ids:
            continue
        relation = rng.choice(("at least", "less than"))
        n = count - rng.randint(0, slack) if relation == "at least" else count + rng.randint(1, slack + 1)
        kwargs[iid] = {"relation": relation, key: max(1, n)}


def _request(rng: random.Random, topic: str, constraints: list[dict[str, Any]]) -> str:
    task = rng.choice(TASKS).format(t=topic)
    rules = [ifeval.describe(c["id"], c["kwargs"]) for c in constraints]
    style = rng.choice(REQUEST_STYLES)
    return style.format(task=task, bullets="\n".join(f"- {r}" for r in rules), inline="; ".join(rules))
