"""N-gram decontamination of training prompts against the evaluation benchmarks.

Text is normalized (NFKC, lower case, word characters only) and cut into word n-grams (default
n = 13, the GPT-3 / Tulu convention); each n-gram is kept as a hash in an in-memory index
`EvalIndex` (gram -> eval items), so checking tens of thousands of training prompts is a set lookup
per gram. Eval texts shorter than n words (but at least `min_words`) are indexed whole and matched
against training n-grams of their own length, so short benchmark questions are not missed.

Overlap of a training task with one eval item = shared grams / min(grams of the task, grams of the
item): 1.0 when either text contains the other (a training prompt that embeds a benchmark
question), ~0 for unrelated text. A task is contaminated when its best overlap reaches `threshold`.
Grams shared by more than `max_item_frequency` eval items (benchmark boilerplate) are ignored.

Eval sets come through the `data.sources` loaders (JudgeBench, RM-Bench, RewardBench 2,
IF-RewardBench, ...) or as plain lists of texts.

    python -m data.decontam --train tasks.jsonl --eval judgebench=../shared/data/judgebench \\
        --eval rmbench=../shared/data/rmbench --out kept.jsonl --removed removed.jsonl --report report.json
"""

from __future__ import annotations

import argparse
import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from model.jsonl import Rejects, write_jsonl
from model.records import JudgeTask

DEFAULT_N = 13
DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_WORDS = 8
DEFAULT_MAX_ITEM_FREQUENCY = 100
_WORD_RE = re.compile(r"\w+")


def normalize_words(text: str) -> list[str]:
    """Lower-cased word tokens of `text` after Unicode NFKC normalization (punctuation dropped)."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())


def ngram_hashes(tokens: Sequence[str], n: int) -> set[int]:
    """Hashes of the word n-grams of `tokens` (in-process only: str hashes are salted per process)."""
    return {hash(" ".join(tokens[i : i + n])) for i in range(len(tokens) - n + 1)}


def task_text(task: JudgeTask, fields: Sequence[str] = ("prompt",)) -> str:
    parts = []
    if "prompt" in fields:
        parts.append(task.prompt_text)
    if "candidates" in fields:
        parts.extend(task.candidates)
    return "\n".join(parts)


class EvalIndex:
    """Hashed n-grams of evaluation texts, each mapped to the eval items it occurs in."""

    def __init__(
        self,
        n: int = DEFAULT_N,
        min_words: int = DEFAULT_MIN_WORDS,
        max_item_frequency: int | None = DEFAULT_MAX_ITEM_FREQUENCY,
    ):
        if n < 1 or min_words < 1:
            raise ValueError(f"n and min_words must be >= 1, got n={n}, min_words={min_words}")
        self.n, self.min_words, self.max_item_frequency = n, min_words, max_item_frequency
        self.items: list[tuple[str, str]] = []  # (benchmark, item id)
        self.sizes: list[int] = []  # grams per item
        self.lengths: list[int] = []  # gram length per item (n, or the word count of a shorter text)
        self.grams: dict[int, dict[int, list[int]]] = defaultdict(dict)  # length -> gram hash -> items
        self._seen: set[tuple[str, str]] = set()
        self._sizes_cache: list[int] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def add(self, benchmark: str, item_id: str, text: str) -> bool:
        """Indexes one eval text; False when it is too short or a duplicate within its benchmark."""
        tokens = normalize_words(text)
        key = (benchmark, " ".join(tokens))
        if len(tokens) < self.min_words or key in self._seen:
            return False
        self._seen.add(key)
        self._sizes_cache = None
        length = min(self.n, len(tokens))
        hashes = ngram_hashes(tokens, length)
        index = len(self.items)
        self.items.append((benchmark, str(item_id)))
        self.sizes.append(len(hashes))
        self.lengths.append(length)
        table = self.grams[length]
        for h in hashes:
            table.setdefault(h, []).append(index)
        return True

    def add_texts(self, benchmark: str, texts: Iterable[str]) -> int:
        return sum(self.add(benchmark, f"{benchmark}-{k}", t) for k, t in enumerate(texts))

    def add_tasks(
        self, benchmark: str, tasks: Iterable[JudgeTask], fields: Sequence[str] = ("prompt",)
    ) -> int:
        return sum(self.add(benchmark, t.id, task_text(t, fields)) for t in tasks)

    def counts(self) -> dict[str, int]:
        return dict(Counter(b for b, _ in self.items))

    def best_match(self, text: str) -> tuple[int, float] | None:
        """(eval item index, overlap) of the eval item sharing the largest fraction of grams with `text`.

        Boilerplate grams (in more than `max_item_frequency` items) count on neither side.
        """
        sizes = self._informative_sizes()
        tokens = normalize_words(text)
        shared: Counter[int] = Counter()
        own: dict[int, int] = {}
        for length, table in self.grams.items():
            own[length] = 0
            for h in ngram_hashes(tokens, length):
                hit = table.get(h)
                if hit and self._common(hit):
                    continue
                own[length] += 1
                if hit:
                    shared.update(hit)
        best = None
        for item, count in shared.items():
            overlap = count / max(1, min(own[self.lengths[item]], sizes[item]))
            if best is None or overlap > best[1]:
                best = (item, overlap)
        return best

    def _common(self, items: list[int]) -> bool:
        return self.max_item_frequency is not None and len(items) > self.max_item_frequency

    def _informative_sizes(self) -> list[int]:
        """Grams per item that are not boilerplate (cached until the next `add`)."""
        if self._sizes_cache is None:
            sizes = list(self.sizes)
            for table in self.grams.values():
                for items in table.values():
                    if self._common(items):
                        for item in items:
                            sizes[item] -= 1
            self._sizes_cache = sizes
        return self._sizes_cache

    @classmethod
    def from_sources(
        cls,
        sources: Mapping[str, str | Path | Sequence[str]],
        n: int = DEFAULT_N,
        rejects: Rejects | None = None,
        fields: Sequence[str] = ("prompt",),
        **kw: Any,
    ) -> EvalIndex:
        """An index over benchmarks given as {name: path} (loaded by `data.sources`) or {name: [texts]}.

        A name that is a `data.sources.SOURCES` key picks that loader; any other name is detected.
        """
        from data.sources import SOURCES, load_source

        index = cls(n=n, **kw)
        for name, value in sources.items():
            if isinstance(value, (list, tuple)):
                index.add_texts(name, value)
                continue
            loader = name if name in SOURCES else "auto"
            index.add_tasks(
                name,
                load_source(loader, value, rejects=rejects if rejects is not None else Rejects(None)),
                fields,
            )
        return index


def find_contaminated(
    train_tasks: Iterable[JudgeTask],
    eval_index: EvalIndex,
    n: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    fields: Sequence[str] = ("prompt",),
) -> list[tuple[str, str, float]]:
    """(task id, matched benchmark, overlap) for every training task whose overlap reaches `threshold`."""
    return [
        (tid, bench, overlap)
        for tid, bench, _, overlap in _matches(train_tasks, eval_index, n, threshold, fields)
    ]


def _matches(
    tasks: Iterable[JudgeTask], index: EvalIndex, n: int | None, threshold: float, fields: Sequence[str]
) -> Iterable[tuple[str, str, str, float]]:
    if n is not None and n != index.n:
        raise ValueError(f"n={n} differs from the index's n={index.n}; build the index with the same n")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    for task in tasks:
        best = index.best_match(task_text(task, fields))
        if best is not None and best[1] >= threshold:
            bench, item_id = index.items[best[0]]
            yield task.id, bench, item_id, round(best[1], 4)


def decontaminate(
    tasks: Sequence[JudgeTask],
    eval_index: EvalIndex,
    threshold: float = DEFAULT_THRESHOLD,
    fields: Sequence[str] = ("prompt",),
) -> tuple[list[JudgeTask], list[JudgeTask], dict[str, Any]]:
    """(kept, removed, report): report has counts per benchmark and every match (task, eval item, overlap)."""
    matches = list(_matches(tasks, eval_index, None, threshold, fields))
    hit = {m[0] for m in matches}
    kept = [t for t in tasks if t.id not in hit]
    removed = [t for t in tasks if t.id in hit]
    report = {
        "n": eval_index.n,
        "threshold": threshold,
        "fields": list(fields),
        "checked": len(tasks),
        "kept": len(kept),
        "removed": len(removed),
        "per_benchmark": dict(Counter(m[1] for m in matches)),
        "eval_items": eval_index.counts(),
        "matches": [{"task_id": t, "benchmark": b, "eval_item": i, "overlap": o} for t, b, i, o in matches],
    }
    return kept, removed, report


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", required=True, nargs="+", help="JudgeTask JSONL file(s) to clean")
    ap.add_argument(
        "--eval",
        required=True,
        action="append",
        metavar="NAME=PATH",
        help="an eval benchmark (a data.sources name, e.g. judgebench=path); repeatable",
    )
    ap.add_argument("--n", type=int, default=DEFAULT_N)
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--out", required=True)
    ap.add_argument("--removed")
    ap.add_argument("--report")
    args = ap.parse_args(argv)
    from model.jsonl import load_records

    rejects = Rejects(Path(args.out).with_suffix(".rejects.jsonl"))
    tasks = [t for path in args.train for t in load_records(path, JudgeTask.from_dict, rejects)]
    sources = dict(_name_path(spec) for spec in args.eval)
    index = EvalIndex.from_sources(sources, n=args.n, rejects=rejects)
    kept, removed, report = decontaminate(tasks, index, args.threshold)
    write_jsonl(args.out, (t.to_dict() for t in kept))
    if args.removed:
        write_jsonl(args.removed, (t.to_dict() for t in removed))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    rejects.close()
    print(json.dumps({k: v for k, v in report.items() if k != "matches"}, indent=2))
    return report


def _name_path(spec: str) -> tuple[str, str]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise SystemExit(f"--eval expects NAME=PATH, got {spec!r}")
    return name, path


if __name__ == "__main__":
    main()
