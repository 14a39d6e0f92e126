"""The batched agent loop with deterministic scripted models: every tool, malformed calls, budgets,
max steps and forced finalization, order mapping; and the real SmolLM2 on a few tasks."""
import pytest

from model.agent import FORCE_FINAL_MESSAGE, AgentConfig, run_agent, tool_call
from model.backends.scripted import ScriptedBackend
from model.protocol import BASELINE, SKILL_OPERATIONAL
from model.records import JudgeTask, Resources

MATH = JudgeTask(
    id="m1", source="test", kind="pairwise", domain="math",
    prompt="Tom has 3 boxes of 6 apples. How many apples?",
    candidates=["3 boxes x 6 = 18. The answer is 18.", "3 + 6 = 9. The answer is 9."],
    gold=0, resources=Resources(reference="18"),
)
IF_TASK = JudgeTask(
    id="if1", source="test", kind="pairwise", domain="instruction_following",
    prompt="Describe a cat in fewer than 10 words, all lowercase.",
    candidates=["a small soft cat naps in the sun.", "The Cat Is A Wonderful Animal That Sleeps All Day Long."],
    gold=0, resources=Resources(constraints=[
        {"id": "length_constraints:number_words", "kwargs": {"relation": "less than", "num_words": 10}},
        {"id": "change_case:english_lowercase", "kwargs": {}}]),
)


def script(*replies):
    """A policy that plays the given replies in turn (the same script for every episode)."""
    def policy(req):
        turn = sum(1 for m in req.messages if m["role"] == "assistant")
        return replies[min(turn, len(replies) - 1)]
    return policy


def last_tool_output(traj, k=-1):
    return [m["content"] for m in traj.messages if m["role"] == "tool"][k]


def test_every_tool_end_to_end_operational():
    policy = script(
        tool_call("use_skill", skill_name="reward_judge", reason="math comparison"),
        tool_call("list_resources", type="verifier"),
        tool_call("view_resource", path="rubric.math", reason="criteria"),
        tool_call("view_resource", path="sample.reference", reason="the reference"),
        tool_call("run_resource", resource_id="verifier.math_answer", reason="compare answers"),
        "A matches the reference.\n" + tool_call("final_answer", verdict="A", confidence=0.9,
                                                 used_resources=["verifier.math_answer"], reason="A is 18"),
    )
    cfg = AgentConfig(max_steps=8)
    [traj] = run_agent(ScriptedBackend(policy), [(MATH, [0, 1])], "skill_operational", cfg)
    assert traj.parse_ok and traj.verdict == "A" and traj.choice == 0 and traj.correct is True
    assert traj.tool_calls == 6 and traj.invalid_tool_calls == 0 and traj.steps == 6
    assert not traj.forced_final
    assert traj.confidence == 0.9
    outputs = [m["content"] for m in traj.messages if m["role"] == "tool"]
    assert "Skill 'reward_judge' loaded." in outputs[0]
    assert "verifier.math_answer" in outputs[1]
    assert outputs[3] == "18"
    assert "A:" in outputs[4] and "B:" in outputs[4]
    assert {"skill:reward_judge", "rubric.math", "sample.reference", "verifier.math_answer"} <= set(traj.used_resources)


def test_instruction_checks_decide_the_swapped_order():
    policy = script(
        tool_call("run_resource", resource_id="verifier.instruction_checks", reason="check constraints"),
        tool_call("final_answer", verdict="B", confidence=0.8),
    )
    [traj] = run_agent(ScriptedBackend(policy), [(IF_TASK, [1, 0])], "skill_operational")
    out = last_tool_output(traj, 0)
    assert "decisive: yes" in out
    assert traj.verdict == "B" and traj.choice == 0 and traj.correct is True  # B shows candidate 0 in order [1, 0]


def test_operational_resources_are_invisible_in_fair_setting():
    policy = script(
        tool_call("view_resource", path="sample.reference"),
        tool_call("run_resource", resource_id="verifier.math_answer"),
        tool_call("final_answer", verdict="A"),
    )
    [traj] = run_agent(ScriptedBackend(policy), [(MATH, [0, 1])], "skill_fair")
    outs = [m["content"] for m in traj.messages if m["role"] == "tool"]
    assert outs[0].startswith("Error:") and "not available" in outs[0]
    assert outs[1].startswith("Error:")
    assert traj.invalid_tool_calls == 2 and traj.parse_ok


def test_malformed_and_unknown_tool_calls_are_answered_and_counted():
    policy = script(
        '<tool_call>{"name": "use_skill", "arguments": {"skill_name": </tool_call>',
        tool_call("teleport", where="moon"),
        tool_call("use_skill", skill_name="no_such_skill"),
        tool_call("final_answer", verdict="C"),  # not a valid label for a pair
        tool_call("final_answer", verdict="A"),
    )
    [traj] = run_agent(ScriptedBackend(policy), [(MATH, [0, 1])], "skill_fair", AgentConfig(max_steps=8))
    assert traj.invalid_tool_calls == 4 and traj.tool_calls == 5
    assert traj.parse_ok and traj.verdict == "A"
    texts = [m["content"] for m in traj.messages if m["role"] in ("tool", "user")][1:]
    assert "malformed tool call" in texts[0]
    assert "unknown tool 'teleport'" in texts[1]
    assert "no_such_skill" in texts[2]
    assert "not one of" in texts[3]


def test_forced_finalization_then_answer():
    def policy(req):
        if req.messages[-1]["content"] == FORCE_FINAL_MESSAGE:
            return tool_call("final_answer", verdict="B")
        return tool_call("list_resources")
    [traj] = run_agent(ScriptedBackend(policy), [(MATH, [0, 1])], "skill_fair", AgentConfig(max_steps=4))
    assert traj.forced_final and traj.parse_ok and traj.verdict == "B" and traj.correct is False
    assert traj.steps == 4


def test_no_verdict_within_max_steps_is_a_counted_parse_failure():
    [traj] = run_agent(ScriptedBackend(script(tool_call("list_resources"))), [(MATH, [0, 1])], "skill_fair",
                       AgentConfig(max_steps=3))
    assert not traj.parse_ok and traj.verdict is None and traj.choice is None and traj.correct is False
    assert "no verdict" in traj.meta["parse_error"]


def test_text_verdict_without_tool_call_ends_the_episode():
    [traj] = run_agent(ScriptedBackend(script("Clearly the first one. [[A]]")), [(MATH, [1, 0])], "skill_fair")
    assert traj.parse_ok and traj.steps == 1 and traj.choice == 1 and traj.correct is False


def test_reply_without_verdict_gets_a_nudge():
    [traj] = run_agent(ScriptedBackend(script("Let me think.", "[[B]]")), [(MATH, [0, 1])], "skill_fair")
    assert traj.steps == 2 and traj.verdict == "B"
    assert any(m["role"] == "user" and m["content"].startswith("Continue") for m in traj.messages)


def test_tool_budget_is_enforced():
    policy = script(*[tool_call("list_resources")] * 5, tool_call("final_answer", verdict="A"))
    [traj] = run_agent(ScriptedBackend(policy), [(MATH, [0, 1])], "skill_fair",
                       AgentConfig(max_steps=8, tool_budget=3))
    outs = [m["content"] for m in traj.messages if m["role"] == "tool"]
    assert all("budget" in o for o in outs[3:5]) and traj.parse_ok  # final_answer is always allowed


def test_baseline_is_one_step_no_tools():
    seen = []

    def policy(req):
        seen.append(req.tools)
        return "B is wrong. [[A]]"
    trajs = run_agent(ScriptedBackend(policy), [(MATH, [0, 1]), (MATH, [1, 0])], "baseline")
    assert seen == [None, None]
    assert [t.choice for t in trajs] == [0, 1] and [t.correct for t in trajs] == [True, False]
    assert all(t.steps == 1 and t.tool_calls == 0 for t in trajs)


def test_episodes_are_batched_per_step():
    calls = []

    class CountingBackend(ScriptedBackend):
        def generate(self, requests, sampling):
            calls.append(len(requests))
            return super().generate(requests, sampling)
    policy = script(tool_call("list_resources"), tool_call("final_answer", verdict="A"))
    items = [(MATH, [0, 1]), (MATH, [1, 0]), (IF_TASK, [0, 1]), (IF_TASK, [1, 0])]
    trajs = run_agent(CountingBackend(policy), items, "skill_fair")
    assert calls == [4, 4] and all(t.parse_ok for t in trajs)


def test_listwise_and_pointwise_verdicts():
    listwise = JudgeTask(id="l1", source="t", kind="listwise", prompt="q", candidates=["w", "x", "y", "z"], gold=2)
    [traj] = run_agent(ScriptedBackend(script(tool_call("final_answer", verdict="D"))), [(listwise, [3, 1, 0, 2])],
                       "skill_fair")
    assert traj.choice == 2 and traj.correct is True
    pointwise = JudgeTask(id="p1", source="t", kind="pointwise", prompt="q", candidates=["answer"])
    [traj] = run_agent(ScriptedBackend(script(tool_call("final_answer", verdict=7))), [(pointwise, [0])],
                       "skill_fair")
    assert traj.parse_ok and traj.score == 7.0 and traj.choice is None and traj.correct is None


def test_generation_errors_are_reported():
    from model.backends.base import Generation

    class Failing(ScriptedBackend):
        def generate(self, requests, sampling):
            return [Generation(text="", finish_reason="prompt_too_long", error="prompt too long") for _ in requests]
    [traj] = run_agent(Failing(script("")), [(MATH, [0, 1])], "skill_fair")
    assert not traj.parse_ok and "prompt too long" in traj.meta["parse_error"]


@pytest.mark.slow
def test_real_smollm2_runs_the_loop_on_a_few_tasks():
    from model.backends import BackendConfig, make_backend

    backend = make_backend("smollm2-135m", BackendConfig(kind="hf", batch_size=4))
    # compact prompts and short turns: the base model often generates to the limit (486 s on an AVX2 CPU at 96)
    cfg = AgentConfig(max_steps=2, max_new_tokens=48, prompt_style="compact")
    items = [(MATH, [0, 1]), (IF_TASK, [1, 0])]
    for setting in (BASELINE, SKILL_OPERATIONAL):
        trajs = run_agent(backend, items, setting, cfg)
        assert len(trajs) == 2
        for t in trajs:
            assert 1 <= t.steps <= cfg.max_steps
            assert t.messages[0]["role"] == "system" and t.messages[2]["role"] == "assistant"
            assert t.parse_ok or t.meta["parse_error"]  # a failure is reported with its reason
            assert t.completion_tokens > 0 and t.prompt_tokens > 0


def _check_ledger(ledger, seen):
    assert ledger is not None and len(ledger.ids) == len(ledger.mask)
    for prompt_ids, completion in seen:  # every turn was generated from the ledger as it stood then
        assert ledger.ids[: len(prompt_ids)] == prompt_ids
        assert ledger.ids[len(prompt_ids): len(prompt_ids) + len(completion)] == completion
        assert all(ledger.mask[len(prompt_ids): len(prompt_ids) + len(completion)])
    assert sum(ledger.mask) == sum(len(c) for _, c in seen)  # the policy's tokens are the completions


def test_token_ledger_with_tool_calls(smollm_tokenizer):
    """RL trains on the ledger: the tokens each turn was generated from, plus what was generated."""
    import copy

    from model.agent import load_skills, new_episode, run_episodes
    from model.backends.base import Backend, Generation
    from model.chat_template import ensure_tool_template

    tok = ensure_tool_template(copy.deepcopy(smollm_tokenizer))
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    replies = iter([tool_call("run_resource", resource_id="verifier.math_answer"),
                    tool_call("final_answer", verdict="A")])
    seen = []

    class TokenScripted(Backend):
        tokenizer = tok
        stop_ids = [eot]

        def encode(self, req):
            return list(req.prompt_ids) if req.prompt_ids is not None else list(
                tok.apply_chat_template(req.messages, tools=req.tools, add_generation_prompt=True,
                                        tokenize=True, return_dict=True)["input_ids"])

        def generate(self, requests, sampling):
            out = []
            for r in requests:
                text = next(replies)
                ids = tok(text, add_special_tokens=False)["input_ids"] + [eot]
                seen.append((list(r.prompt_ids), ids))
                out.append(Generation(text=text, completion_ids=ids, prompt_ids=list(r.prompt_ids)))
            return out
    cfg = AgentConfig(max_steps=4, track_tokens=True)
    ep = new_episode(MATH, [1, 0], "skill_operational", load_skills(cfg), cfg)
    run_episodes(TokenScripted(), [ep], cfg)
    assert ep.verdict.label == "A" and len(seen) == 2
    _check_ledger(ep.ledger, seen)
    context = tok.decode([i for i, m in zip(ep.ledger.ids, ep.ledger.mask) if not m][-80:])
    assert "<tool_response>" in context and "matches_reference" in context
    assert tok.decode(ep.ledger.ids).endswith("</tool_call><|im_end|>")


def test_token_ledger_with_a_real_model(tiny_model_dir):
    from model.agent import load_skills, new_episode, run_episodes
    from model.backends.hf import HFBackend

    backend = HFBackend(str(tiny_model_dir), batch_size=2)
    seen = []
    generate = backend.generate

    def recording(requests, sampling):
        gens = generate(requests, sampling)
        seen.extend((list(r.prompt_ids), list(g.completion_ids)) for r, g in zip(requests, gens))
        return gens
    backend.generate = recording
    cfg = AgentConfig(max_steps=3, max_new_tokens=6, track_tokens=True, temperature=1.0, seed=3)
    ep = new_episode(MATH, [0, 1], "skill_fair", load_skills(cfg), cfg)
    run_episodes(backend, [ep], cfg)
    _check_ledger(ep.ledger, seen)
    assert len(seen) == ep.steps


def test_the_sandbox_level_that_ran_is_recorded_and_a_refusal_is_never_silent(monkeypatch):
    from model.sandbox import isolation_level

    code = tool_call("python_sandbox", code="print(len(candidates))")
    policy = ScriptedBackend(script(code, tool_call("final_answer", verdict="A")))
    [traj] = run_agent(policy, [(MATH, [0, 1])], "skill_fair")
    level = isolation_level()
    assert traj.meta["isolation"] == level and level in ("bwrap", "unshare", "none")
    monkeypatch.setenv("SKILLRM_SANDBOX_ISOLATION", "rlimits")  # the weak level, without the opt-in
    [refused] = run_agent(policy, [(MATH, [0, 1])], "skill_fair")
    tool_out = next(m["content"] for m in refused.messages if m["role"] == "tool")
    assert refused.meta["isolation"] == "none" and "allow_weak_isolation" in tool_out
