"""Best-of-N metrics (SeqKO@N, pass@1, random@N, oracle@N, majority), the registry and published data."""
import pytest

from eval.metrics import METRICS, PUBLISHED, bon_metrics, published_rows
from eval.metrics.bon import majority_index

GROUPS = [
    # answers tie 2-2 ("5" vs "7"): first occurrence "5" (index 0, score 0) wins the vote
    {"scores": [0, 1, 0, 1], "winner": 1, "answers": ["5", "7", "5", "7"]},
    # majority "3" first seen at index 1 (score 0)
    {"scores": [1, 0, 0], "winner": 2, "answers": [None, "3", "3"]},
    # nothing extractable: majority falls back to the first candidate (0.5)
    {"scores": [0.5, 0.2], "winner": 1, "answers": [None, None]},
]


def test_majority_index():
    assert majority_index(["5", "7", "5", "7"]) == 0
    assert majority_index([None, "3", "3"]) == 1
    assert majority_index(["a", "b", "b"]) == 1
    assert majority_index([None, None]) == 0


def test_bon_metrics_hand_values():
    m = bon_metrics(GROUPS)
    assert m["groups"] == 3 and m["n_candidates"] == [2, 3, 4]
    assert m["seqko"] == pytest.approx((1 + 0 + 0.2) / 3)
    assert m["headline"] == m["seqko"]
    assert m["pass_at_1"] == pytest.approx((0 + 1 + 0.5) / 3)
    assert m["random"] == pytest.approx((0.5 + 1 / 3 + 0.35) / 3)
    assert m["oracle"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert m["majority"] == pytest.approx((0 + 0 + 0.5) / 3)
    assert "majority" not in bon_metrics([{"scores": [1, 0], "winner": 0}])


def test_registry_and_published():
    assert set(METRICS) == {"judgebench", "rmbench", "rewardbench2", "pairwise", "if_rewardbench", "bon"}
    assert all(callable(fn) for fn in METRICS.values())
    rows = published_rows()
    assert len(rows) == len(PUBLISHED) and all(r["published"] and r["unit"] == "percent" for r in rows)
    direct = next(r for r in rows if r["protocol"].endswith("direct judge"))
    assert (direct["rewardbench2"], direct["rmbench"], direct["judgebench"]) == (81.1, 89.8, 80.8)
    assert METRICS["bon"](GROUPS)["oracle"] == pytest.approx(2.5 / 3)
