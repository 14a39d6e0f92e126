"""Synthetic SFT rows shaped like rendered judge trajectories, for tests, benchmarks and smoke runs.

A row alternates masked turns (system / user / tool output) and trained assistant turns, each
assistant turn ending with the end-of-turn token; total lengths are log-normal around `mean_len`
(clipped to [min_len, max_len]), like multi-turn tool-use trajectories. Token ids follow a simple
per-row arithmetic pattern (learnable: a few steps visibly lower the loss) or are uniform random.

    python -m train.synthetic --output outputs/data/sft_synthetic --n 256 [--tokenizer smollm2-135m]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

IGNORE_INDEX = -100


def sample_lengths(n: int, rng: np.random.Generator, mean_len: int = 600, sigma: float = 0.6,
                   min_len: int = 50, max_len: int = 3000) -> np.ndarray:
    mu = np.log(mean_len) - sigma**2 / 2  # so that the mean is ~mean_len
    return np.clip(rng.lognormal(mu, sigma, size=n), min_len, max_len).astype(int)


def synthetic_row(length: int, rng: np.random.Generator, vocab_size: int, eot_id: int,
                  learnable: bool = True, turns: int = 3) -> dict[str, list[int]]:
    if learnable:
        start, stride = int(rng.integers(100, 1100)), int(rng.integers(1, 8))
        ids = (start + stride * np.arange(length)) % 1000 + 100
    else:
        ids = rng.integers(100, vocab_size, size=length)
    ids = ids.astype(np.int64)
    labels = np.full(length, IGNORE_INDEX, dtype=np.int64)
    # split into 2*turns segments: masked, trained, masked, trained, ...
    cuts = np.sort(rng.choice(np.arange(2, length - 1), size=min(2 * turns - 1, length - 3), replace=False))
    bounds = [0, *cuts.tolist(), length]
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        if k % 2 == 1:  # assistant turn: trained, closed by the end-of-turn token
            ids[b - 1] = eot_id
            labels[a:b] = ids[a:b]
    return {"input_ids": ids.tolist(), "labels": labels.tolist()}


def synthetic_rows(n: int, vocab_size: int, eot_id: int, seed: int = 0, learnable: bool = True,
                   **length_kw) -> list[dict[str, list[int]]]:
    rng = np.random.default_rng(seed)
    return [synthetic_row(int(L), rng, vocab_size, eot_id, learnable)
            for L in sample_lengths(n, rng, **length_kw)]


def rows_to_data(rows: list[dict], max_seq_len: int, source: str = "synthetic"):
    """In-memory SFTData through the same validation as files (for benchmarks)."""
    import json
    import tempfile

    from train.data import load_sft_data

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{source}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        data = load_sft_data(path, max_seq_len)
    data.source = source
    return data


def write(rows: list[dict], output: str | Path, fmt: str = "disk") -> Path:
    out = Path(output)
    if fmt == "jsonl":
        from model.jsonl import write_jsonl

        write_jsonl(out, rows)
    else:
        import datasets

        datasets.Dataset.from_list(rows).save_to_disk(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.synthetic", description=__doc__.splitlines()[0])
    p.add_argument("--output", required=True)
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--tokenizer", default="smollm2-135m")
    p.add_argument("--mean-len", type=int, default=600)
    p.add_argument("--max-len", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--random", action="store_true", help="uniform random tokens instead of a learnable pattern")
    p.add_argument("--format", choices=["disk", "jsonl"], default="disk")
    a = p.parse_args(argv)
    from model.loading import load_tokenizer

    tok = load_tokenizer(a.tokenizer)
    try:
        from model.chat_template import end_of_turn_token

        eot = tok.convert_tokens_to_ids(end_of_turn_token(tok))
    except ImportError:
        eot = tok.eos_token_id
    rows = synthetic_rows(a.n, len(tok), eot, a.seed, not a.random, mean_len=a.mean_len,
                          min_len=min(50, a.max_len), max_len=a.max_len)
    print(write(rows, a.output, a.format))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
