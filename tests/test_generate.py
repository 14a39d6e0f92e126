"""The scripted teacher through the real runtime, and the data.generate CLI (outputs, resume after a kill)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data.builders.synthetic import generate_synthetic
from data.teachers.scripted import ScriptedTeacher
from model.agent import AgentConfig, run_agent
from model.records import JudgeTask, Resources
from model.verifiers.examples import asserts_from_examples

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tasks():
    return generate_synthetic(9, seed=3)


def _swapped(task: JudgeTask) -> JudgeTask:
    d = task.to_dict()
    d["candidates"] = d["candidates"][::-1]
    d["gold"] = 1 - d["gold"]
    return JudgeTask.from_dict(d)


def test_teacher_is_right_on_verifiable_tasks_in_both_orders(tasks):
    items = [(t, o) for t in tasks for o in t.orders(True)]
    trajs = run_agent(ScriptedTeacher(seed=0).backend(), items, "skill_operational", AgentConfig())
    assert all(t.parse_ok for t in trajs)
    decided = [t for t in trajs if t.verdict != "tie"]
    assert len(decided) >= 0.9 * len(trajs)
    assert all(t.correct for t in decided)
    assert {t.verdict for t in decided} == {"A", "B"}  # the winner sits in both positions
    for t in decided:
        tool_outputs = [m["content"] for m in t.messages if m["role"] == "tool"]
        # it concluded from a real verifier run: the last verifier output (before final_answer's receipt)
        # is decisive, and a second check was run only when the first was not (constrained math)
        verifier_outputs = tool_outputs[:-1]
        assert "decisive: yes" in verifier_outputs[-1] and t.used_resources
        assert all("decisive: no" in out for out in verifier_outputs[:-1])
        assert t.tool_calls == 1 + len(verifier_outputs) <= 3


def test_teacher_never_reads_the_gold(tasks):
    """Swapping the stored candidates (and the gold with them) changes nothing the teacher writes."""
    teacher = ScriptedTeacher(seed=0).backend()
    for task in tasks[:6]:
        a = run_agent(teacher, [(task, [1, 0])], "skill_operational")[0]
        b = run_agent(teacher, [(_swapped(task), [0, 1])], "skill_operational")[0]
        assert a.messages == b.messages
        assert a.correct == b.correct


def test_fair_setting_uses_only_visible_evidence(tasks):
    trajs = run_agent(ScriptedTeacher(seed=0).backend(), [(t, [0, 1]) for t in tasks], "skill_fair")
    for t in trajs:
        assert not any(r.startswith("sample.") for r in t.used_resources)
        assert "verifier.math_answer" not in t.used_resources
        assert t.invalid_tool_calls == 0


def test_undecided_evidence_gives_a_tie_not_a_guess():
    task = JudgeTask(id="x", source="t", kind="pairwise", domain="math", prompt="What is 2+2?",
                     candidates=["It is 4.", "The answer is 4."], gold=0, resources=Resources(reference="4"))
    [traj] = run_agent(ScriptedTeacher().backend(), [(task, [0, 1])], "skill_operational")
    assert traj.verdict == "tie" and traj.correct is False and traj.confidence <= 0.5


def test_empty_candidate_is_decided_directly():
    task = JudgeTask(id="e", source="t", kind="pairwise", domain="chat", prompt="Say hi.",
                     candidates=["Hi there!", "   "], gold=0)
    [traj] = run_agent(ScriptedTeacher().backend(), [(task, [1, 0])], "skill_fair")
    assert traj.tool_calls == 1 and traj.verdict == "B" and traj.correct


def test_load_skill_probability_adds_use_skill(tasks):
    trajs = run_agent(ScriptedTeacher(seed=1, load_skill_prob=1.0).backend(), [(tasks[0], [0, 1])],
                      "skill_operational")
    assert trajs[0].messages[2]["tool_calls"][0]["function"]["name"] == "use_skill"
    assert trajs[0].correct


def test_tests_from_prompt_examples():
    prompt = 'def add(a, b):\n    """Add.\n    >>> add(1, 2)\n    3\n    >>> add(-1, 1)\n    0\n    """'
    assert asserts_from_examples(prompt) == "assert add(1, 2) == 3\nassert add(-1, 1) == 0\n"
    assert asserts_from_examples("Write add(a, b). add(2, 2) == 4") == "assert add(2, 2) == 4\n"
    assert asserts_from_examples("No examples here.") is None


def _run_generate(out: Path, *extra: str, wait: bool = True):
    cmd = [sys.executable, "-m", "data.generate", "--config", str(REPO / "configs/data/quickstart.yaml"),
           f"output_dir={out}", "sources=[{kind: synthetic, n: 40}]", "decontam.enabled=false",
           "teacher.settings=[skill_operational,skill_fair]", "chunk_size=8", "--no-progress", *extra]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if wait:
        return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stable(path: Path):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:
        r.pop("latency_s")
    return rows


@pytest.mark.slow
def test_generate_cli_outputs_and_resume_after_kill(tmp_path):
    full = tmp_path / "full"
    done = _run_generate(full)
    assert done.returncode == 0, done.stderr
    for name in ("tasks.jsonl", "heldout.jsonl", "trajectories.jsonl", "generate_report.json",
                 "generate_config.yaml"):
        assert (full / name).exists(), name
    report = json.loads((full / "generate_report.json").read_text())
    n_train = report["train_tasks"]
    assert report["teacher"]["trajectories"] == n_train * 2 * 2  # two settings x two orders
    train_ids = {json.loads(x)["id"] for x in (full / "tasks.jsonl").read_text().splitlines()}
    held_ids = {json.loads(x)["id"] for x in (full / "heldout.jsonl").read_text().splitlines()}
    assert train_ids and held_ids and not train_ids & held_ids

    # kill a second run once it has written something, then resume it
    part = tmp_path / "part"
    proc = _run_generate(part, wait=False)
    traj = part / "trajectories.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (traj.exists() and traj.stat().st_size > 0):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(traj.read_text().splitlines())
    assert 0 < n_before < n_train * 4, "the kill should land mid-run"
    resumed = _run_generate(part)
    assert resumed.returncode == 0, resumed.stderr
    assert _stable(traj) == _stable(full / "trajectories.jsonl")  # nothing lost, nothing duplicated


@pytest.mark.slow
def test_llm_teacher_samples_k_trajectories_per_item(tmp_path, tiny_model_dir):
    """teacher.kind=llm runs any runtime backend; K samples per (task, order, setting), sampled with a
    temperature; the render filters later keep only the right ones (rejection sampling)."""
    out = tmp_path / "llm"
    res = _run_generate(out, "teacher.kind=llm", f"teacher.model={tiny_model_dir}", "teacher.samples=2",
                        "teacher.agent.temperature=0.9", "teacher.agent.max_new_tokens=8", "teacher.agent.max_steps=2",
                        "teacher.settings=[skill_fair]", "sources=[{kind: synthetic, n: 6, kinds: [arithmetic]}]")
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [json.loads(x) for x in (out / "trajectories.jsonl").read_text().splitlines()]
    n_train = json.loads((out / "generate_report.json").read_text())["train_tasks"]
    assert len(rows) == n_train * 2 * 2  # two orders x two samples
    assert {r["meta"]["sample_index"] for r in rows} == {0, 1}
    assert all(r["teacher"].startswith("hf:") for r in rows)
    # samples of one item differ (temperature > 0, one seeded stream)
    by_item = {}
    for r in rows:
        by_item.setdefault((r["task_id"], tuple(r["order"])), []).append(json.dumps(r["messages"][2:]))
    assert any(len(set(v)) > 1 for v in by_item.values())
