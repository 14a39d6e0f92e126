"""Leakage: in every setting, no message, tool output or resource carries the gold label, which
candidate was "chosen", the dataset's order, or anything else from the task's meta.

A snooping judge calls every tool (loads both skills, lists and views every resource it can, runs
every verifier, dumps the sandbox's globals) in both candidate orders. Two checks:
1. no canary planted in gold-side fields appears anywhere in the transcript;
2. swapping the stored candidates (with the gold and the upstream order flag) and the shown order
   gives a byte-identical transcript: nothing the judge sees depends on which side is gold.
"""
import json

import pytest

from model.agent import AgentConfig, run_agent, tool_call
from model.backends.scripted import ScriptedBackend
from model.protocol import SETTING_NAMES
from model.records import JudgeTask, Resources
from model.skills import SkillLibrary

CANARY = "CANARY-7f3a"
SNOOP_CODE = ("print(sorted(k for k in globals() if not k.startswith('__')))\n"
              "import json\nprint(json.dumps({'prompt': prompt, 'candidates': candidates, 'sample': sample}))")


def _tasks():
    common_meta = {"label": "A>B", "chosen_side": "A", "note": CANARY, "position_map": {"0_1": 1},
                   "preference_graph": [{"chosen": 0, "rejected": 1}], "error": f"{CANARY} error text"}
    return [
        JudgeTask(id="leak-math", source="leaktest", kind="pairwise", domain="math",
                  prompt="A pen costs 3 dollars. What do 4 pens cost?",
                  candidates=["4 x 3 = 12. The answer is 12.", "4 + 3 = 7. The answer is 7."], gold=0,
                  resources=Resources(reference="12", checklist=["States the total cost"],
                                      metadata={"hidden": CANARY}),
                  meta=dict(common_meta)),
        JudgeTask(id="leak-code", source="leaktest", kind="pairwise", domain="code",
                  prompt="Write `double(x)` returning twice x.",
                  candidates=["```python\ndef double(x):\n    return 2 * x\n```",
                              "```python\ndef double(x):\n    return x + 2\n```"], gold=0,
                  resources=Resources(tests="assert double(3) == 6\n", metadata={"entry_point": "double"}),
                  meta=dict(common_meta)),
        JudgeTask(id="leak-if", source="leaktest", kind="pairwise", domain="instruction_following",
                  prompt="Name a fruit in lowercase.", candidates=["an apple", "An Apple"], gold=0,
                  resources=Resources(constraints=[{"id": "change_case:english_lowercase", "kwargs": {}}]),
                  meta=dict(common_meta)),
    ]


def _swapped(task: JudgeTask) -> JudgeTask:
    d = task.to_dict()
    d["candidates"] = d["candidates"][::-1]
    d["gold"] = 1 - d["gold"]
    d["meta"] = dict(d["meta"], label="B>A", chosen_side="B", position_map={"0_1": 0})
    return JudgeTask.from_dict(d)


def _snoop_script():
    lib = SkillLibrary()
    calls = [tool_call("use_skill", skill_name=name) for name in lib.names()]
    calls.append(tool_call("list_resources"))
    for name in lib.names():
        for spec in lib.get(name).resources:
            if spec.implementation_kind == "document" and spec.type in ("output_contract", "rubric"):
                calls.append(tool_call("view_resource", path=spec.id))
    for field in ("reference", "checklist", "constraints", "tests"):
        calls.append(tool_call("view_resource", path=f"sample.{field}"))
    for rid in ("verifier.math_answer", "verifier.math_extract", "verifier.arithmetic_steps", "verifier.code_tests",
                "verifier.prompt_examples", "verifier.instruction_checks", "verifier.stated_constraints",
                "verifier.reference_match", "verifier.checklist_score"):
        calls.append(tool_call("run_resource", resource_id=rid))
    calls.append(tool_call("python_sandbox", code=SNOOP_CODE))
    calls.append(tool_call("final_answer", verdict="A"))

    def policy(req):
        turn = sum(1 for m in req.messages if m["role"] == "assistant")
        return calls[min(turn, len(calls) - 1)]
    return policy, len(calls)


@pytest.fixture(scope="module")
def transcripts():
    policy, n_calls = _snoop_script()
    cfg = AgentConfig(max_steps=n_calls + 1, tool_budget=n_calls + 1)
    out = {}
    for setting in SETTING_NAMES:
        for task in _tasks():
            for order in ([0, 1], [1, 0]):
                [traj] = run_agent(ScriptedBackend(policy), [(task, order)], setting, cfg)
                [twin] = run_agent(ScriptedBackend(policy), [(_swapped(task), order[::-1])], setting, cfg)
                out[(setting, task.id, tuple(order))] = (traj, twin)
    return out


def test_no_gold_side_field_reaches_the_judge(transcripts):
    for key, (traj, _) in transcripts.items():
        text = json.dumps(traj.messages)
        for forbidden in (CANARY, "A>B", "chosen", "rejected", "gold", "position_map", "preference_graph",
                          "chosen_side"):
            assert forbidden not in text, (key, forbidden)


def test_transcript_does_not_depend_on_which_side_is_gold(transcripts):
    for key, (traj, twin) in transcripts.items():
        assert traj.messages == twin.messages, key


def test_the_snoop_really_reached_every_tool(transcripts):
    traj, _ = transcripts[("skill_operational", "leak-math", (0, 1))]
    tool_out = [m["content"] for m in traj.messages if m["role"] == "tool"]
    assert any("Skill 'reward_judge' loaded" in t for t in tool_out)
    assert any(t.startswith("[math_answer]") for t in tool_out)
    sandbox = next(t for t in tool_out if t.startswith("['candidates'"))
    assert sandbox.splitlines()[0] == "['candidates', 'prompt', 'sample']"  # the sandbox's globals
    dumped = json.loads(sandbox.splitlines()[1])
    assert dumped["sample"] == {"reference": "12", "checklist": ["States the total cost"]}
    # metadata is not exposed even in skill_operational
    assert CANARY not in json.dumps(dumped)


def test_fair_setting_shows_no_sample_resources(transcripts):
    traj, _ = transcripts[("skill_fair", "leak-math", (0, 1))]
    tool_out = [m["content"] for m in traj.messages if m["role"] == "tool"]
    sandbox = next(t for t in tool_out if t.startswith("['candidates'"))
    assert json.loads(sandbox.splitlines()[1])["sample"] == {}
    assert "12" not in "".join(t for t in tool_out if "sample.reference" in t)


def test_baseline_sees_only_the_prompt(transcripts):
    traj, _ = transcripts[("baseline", "leak-code", (1, 0))]
    assert [m["role"] for m in traj.messages] == ["system", "user", "assistant"]
    assert "assert double" not in json.dumps(traj.messages)  # the tests are a sample resource


def test_direct_judge_with_resources_reads_them_as_text_and_nothing_hidden(transcripts):
    traj, _ = transcripts[("baseline_operational", "leak-code", (1, 0))]
    assert [m["role"] for m in traj.messages] == ["system", "user", "assistant"]
    user = traj.messages[1]["content"]
    assert "[Sample tests]" in user and "assert double(3) == 6" in user and CANARY not in user
    math, _ = transcripts[("baseline_operational", "leak-math", (0, 1))]
    assert "[Sample reference]\n12" in math.messages[1]["content"]


# --------------------------------------------------------------------------- teachers


def _hidden_changed(task: JudgeTask, setting: str) -> JudgeTask:
    """The same visible task with every hidden field changed: id, source, domain, gold, meta, and (where
    the setting does not expose them) the sample's resources."""
    d = task.to_dict()
    d.update(id=f"{CANARY}-{task.id}", source=f"{CANARY}-src", gold=1 - task.gold,
             domain="chat" if task.domain != "chat" else "general",
             meta={"note": CANARY, "split": "heldout", "difficulty": "hard", "kind": "other"})
    from model.protocol import get_setting

    if not get_setting(setting).sample_resources:
        d["resources"] = {"reference": f"{CANARY} 999", "tests": "assert False\n",
                          "constraints": [{"id": "punctuation:no_comma", "kwargs": {}}],
                          "checklist": [CANARY], "metadata": {"entry_point": "nope"}}
    return JudgeTask.from_dict(d)


def _visible(traj):
    return (traj.messages, traj.verdict, traj.tool_calls, traj.used_resources, traj.steps)


@pytest.fixture(scope="module")
def teacher_tasks():
    from data.builders.synthetic import generate_synthetic

    return generate_synthetic(12, seed=4) + _tasks()


@pytest.mark.parametrize("setting", ["skill_fair", "skill_operational"])
def test_scripted_teacher_sees_only_what_the_judge_sees(teacher_tasks, setting):
    from data.teachers.scripted import ScriptedTeacher

    for load_skill in (0.0, 1.0):
        teacher = ScriptedTeacher(seed=0, load_skill_prob=load_skill).backend()
        items = [(t, o) for t in teacher_tasks for o in t.orders(True)]
        twins = [(_hidden_changed(t, setting), o) for t, o in items]
        cfg = AgentConfig(prompt_style="compact", max_steps=6)
        for a, b in zip(run_agent(teacher, items, setting, cfg), run_agent(teacher, twins, setting, cfg)):
            assert _visible(a) == _visible(b), a.task_id
            assert CANARY not in json.dumps(a.messages) and CANARY not in json.dumps(b.messages)


def test_llm_teacher_sees_only_what_the_judge_sees(teacher_tasks, tiny_model_dir):
    """The llm teacher is any backend; with a real (tiny, greedy) model its trajectories are a function of
    the rendered episode, so changing hidden fields changes nothing."""
    from data.config import TeacherConfig
    from data.teachers import make_teacher_backend
    from model.backends import BackendConfig

    cfg = TeacherConfig(kind="llm", model=str(tiny_model_dir), backend=BackendConfig(kind="hf", batch_size=8),
                        agent=AgentConfig(max_steps=2, max_new_tokens=12, prompt_style="compact"))
    backend = make_teacher_backend(cfg)
    tasks = teacher_tasks[:4]
    for setting in SETTING_NAMES:
        items = [(t, [1, 0]) for t in tasks]
        twins = [(_hidden_changed(t, setting), o) for t, o in items]
        a, b = run_agent(backend, items, setting, cfg.agent), run_agent(backend, twins, setting, cfg.agent)
        assert [_visible(x) for x in a] == [_visible(x) for x in b], setting
