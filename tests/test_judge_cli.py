"""`python -m model.judge`: generic pairwise input, one row per judgment, rejects, resume."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from model.agent import AgentConfig, tool_call
from model.backends.scripted import ScriptedBackend
from model.jsonl import ResumableWriter
from model.judging import judge_tasks, judgment_key, load_tasks

REPO = Path(__file__).resolve().parent.parent
PAIRS = [
    {"id": "p1", "prompt": "2+2?", "chosen": "The answer is 4.", "rejected": "The answer is 5.", "reference": "4"},
    {"id": "p2", "prompt": "3*3?", "chosen": "The answer is 9.", "rejected": "The answer is 6.", "reference": "9"},
    {"id": "p3", "prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."},
]


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    lines = [json.dumps(p) for p in PAIRS] + ['{"id": "bad", "prompt": "no candidates"}', "{not json"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_load_tasks_skips_malformed_rows_into_rejects(pairs_file, tmp_path):
    from model.jsonl import Rejects

    rejects = Rejects(tmp_path / "rej.jsonl")
    tasks = load_tasks(pairs_file, rejects)
    assert [t.id for t in tasks] == ["p1", "p2", "p3"]
    assert [r["row"] for r in rejects.rows] == [4, 5]
    assert "chosen" in rejects.rows[0]["reason"] and "invalid JSON" in rejects.rows[1]["reason"]


class FailingAfter(ScriptedBackend):
    """Simulates a crash: raises on the k-th generate call."""

    def __init__(self, policy, fail_at):
        super().__init__(policy)
        self.calls, self.fail_at = 0, fail_at

    def generate(self, requests, sampling):
        self.calls += 1
        if self.calls == self.fail_at:
            raise KeyboardInterrupt("killed")
        return super().generate(requests, sampling)


def test_resume_after_a_crash_loses_and_duplicates_nothing(pairs_file, tmp_path):
    from model.jsonl import Rejects

    tasks = load_tasks(pairs_file, Rejects(None))
    policy = lambda req: tool_call("final_answer", verdict="A")  # noqa: E731
    out = tmp_path / "j.jsonl"
    with pytest.raises(KeyboardInterrupt):
        with ResumableWriter(out, judgment_key) as w:
            judge_tasks(FailingAfter(policy, fail_at=3), tasks, "skill_fair", w, AgentConfig(),
                        chunk_size=2, progress=False)
    assert len(out.read_text().splitlines()) == 4  # two chunks landed before the crash
    with ResumableWriter(out, judgment_key) as w:
        stats = judge_tasks(ScriptedBackend(policy), tasks, "skill_fair", w, AgentConfig(), chunk_size=2,
                            progress=False)
    assert stats["judgments"] == 2
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted((r["task_id"], tuple(r["order"])) for r in rows) == sorted(
        (p["id"], o) for p in PAIRS for o in ((0, 1), (1, 0)))
    assert sum(r["correct"] for r in rows) == 3  # "always A" is right exactly when chosen is shown first


def test_judge_cli_end_to_end_with_a_local_model(pairs_file, tmp_path, tiny_model_dir):
    out = tmp_path / "judgments.jsonl"
    cmd = [sys.executable, "-m", "model.judge", "--model", str(tiny_model_dir), "--setting", "skill_operational",
           "--input", str(pairs_file), "--output", str(out), "--max-steps", "2",
           "--max-new-tokens", "8", "--no-progress", "--save-messages"]
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 6 and all("messages" in r for r in rows)
    for r in rows:  # a random tiny model rarely produces a verdict: failures are reported, not defaulted
        assert r["parse_ok"] or (r["parse_error"] and r["choice"] is None and r["correct"] is False)
    assert (tmp_path / "judgments.jsonl.rejects.jsonl").exists()
    assert "| setting | pairs | pair accuracy |" in first.stdout
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "0 new judgments (6 resumed)" in again.stdout
    assert len(out.read_text().splitlines()) == 6


def always_a(req):
    """A judge that answers A whatever it is shown (for the CLI's both-orders default)."""
    return "Verdict: [[A]]"


def _judge_cli(*args, cwd=REPO):
    cmd = [sys.executable, "-m", "model.judge", "--no-progress", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_judge_cli_judges_both_orders_by_default_so_always_a_scores_zero(pairs_file, tmp_path):
    out = tmp_path / "j.jsonl"
    res = _judge_cli("--backend", "scripted:tests.test_judge_cli:always_a", "--setting", "baseline",
                     "--input", pairs_file, "--output", out)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(tuple(r["order"]) for r in rows) == [(0, 1)] * 3 + [(1, 0)] * 3
    table = res.stdout.split("\n", 1)[1]
    assert table.splitlines()[0].startswith("| setting | pairs | pair accuracy |")
    assert "| baseline | 3 | 0.000 | 6 | 0 | 0.500 | 1.000 |" in table
    assert "answered A every time" in table
    one = _judge_cli("--backend", "scripted:tests.test_judge_cli:always_a", "--setting", "baseline",
                     "--input", pairs_file, "--output", tmp_path / "one.jsonl", "--one-order")
    assert one.returncode == 0 and len((tmp_path / "one.jsonl").read_text().splitlines()) == 3


def test_judge_cli_resume_key_includes_the_setting_and_refuses_another_judge(pairs_file, tmp_path):
    out = tmp_path / "j.jsonl"
    base = ("--backend", "scripted:tests.test_judge_cli:always_a", "--input", pairs_file, "--output", out)
    assert _judge_cli(*base, "--setting", "baseline").returncode == 0
    other = _judge_cli(*base, "--setting", "skill_fair")
    assert other.returncode == 0 and "6 new judgments (6 resumed)" in other.stdout
    assert len(out.read_text().splitlines()) == 12
    again = _judge_cli(*base, "--setting", "skill_fair")
    assert "0 new judgments (12 resumed)" in again.stdout
    mixed = _judge_cli(*base, "--setting", "baseline", "--max-steps", "3")
    assert mixed.returncode != 0 and "another judge" in mixed.stderr and "agent" in mixed.stderr
    assert len(out.read_text().splitlines()) == 12


def test_judge_cli_missing_input_is_a_clear_error(tmp_path):
    res = _judge_cli("--input", tmp_path / "nope.jsonl", "--output", tmp_path / "o.jsonl")
    assert res.returncode == 2 and "no such file" in res.stderr and "Traceback" not in res.stderr
