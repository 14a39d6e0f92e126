"""`python -m model.judge`: generic pairwise input, one row per judgment, rejects, resume."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from model.agent import AgentConfig, tool_call
from model.backends.scripted import ScriptedBackend
from model.jsonl import ResumableWriter
from model.judge import judge_tasks, judgment_key, load_tasks

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
           "--input", str(pairs_file), "--output", str(out), "--both-orders", "--max-steps", "2",
           "--max-new-tokens", "8", "--no-progress", "--save-messages"]
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 6 and all("messages" in r for r in rows)
    for r in rows:  # a random tiny model rarely produces a verdict: failures are reported, not defaulted
        assert r["parse_ok"] or (r["parse_error"] and r["choice"] is None and r["correct"] is False)
    assert (tmp_path / "judgments.jsonl.rejects.jsonl").exists()
    assert "| judgments |" in first.stdout
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "0 new judgments (6 resumed)" in again.stdout
    assert len(out.read_text().splitlines()) == 6
