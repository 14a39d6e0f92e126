"""The judge as a policy reward (model/reward/core.py): TRL's reward-function contract, pointwise and
pairwise rewards, failures, timeouts and cancellation, how the backend is given. Scripted judges; the
real verifiers run."""
import math
import threading
import time

import pytest

from model.agent import AgentConfig, tool_call
from model.backends import BackendConfig, LazyBackend
from model.backends.scripted import ScriptedBackend
from model.reward import TIMEOUT_ERROR, JudgeReward, RewardSample, backend_for

QUESTION = "Tom has 3 boxes of 6 apples. How many apples does he have?"
RIGHT = "3 boxes x 6 apples = 18 apples. The answer is 18."
WRONG = "3 + 6 = 9. The answer is 9."


# --- scripted judges (also used by tests/test_reward_server.py through scripted:MODULE:FUNCTION) -------

def shown(req):
    ep = req.context
    return ep, [ep.task.candidates[i] for i in ep.order]


def length_judge(req):
    """Pointwise: a longer response gets a higher rating. Pairwise: the longer shown response wins."""
    ep, cands = shown(req)
    if ep.task.kind == "pointwise":
        return f"Rating: [[{min(10, 1 + len(cands[0]) // 10)}]]"
    return "[[A]]" if len(cands[0]) >= len(cands[1]) else "[[B]]"


def math_judge(req):
    """Runs the real math_answer verifier against the sample's reference, then rates 9 or 2."""
    tool_outputs = [m["content"] for m in req.messages if m["role"] == "tool"]
    if not tool_outputs:
        return tool_call("run_resource", resource_id="verifier.math_answer", reason="compare with the reference")
    ok = "matches_reference=True" in tool_outputs[-1]
    return tool_call("final_answer", verdict=9 if ok else 2, confidence=0.9,
                     used_resources=["verifier.math_answer"], reason="final answer vs reference")


class Recorder:
    """A scripted backend that also records every request it was given."""

    def __init__(self, policy):
        self.requests = []
        self.lock = threading.Lock()

        def wrapped(req):
            with self.lock:
                self.requests.append(req)
            return policy(req)

        self.backend = ScriptedBackend(wrapped)


# --- TRL -----------------------------------------------------------------------------------------------

def test_trl_call_with_string_completions():
    rec = Recorder(length_judge)
    reward = JudgeReward(backend=rec.backend, setting="baseline")
    completions = ["ok", "a somewhat longer answer", "a much, much longer answer with several more words in it"]
    out = reward(prompts=[QUESTION] * 3, completions=completions, completion_ids=[[1], [2], [3]],
                 trainer_state=object())
    assert isinstance(out, list) and len(out) == 3 and all(isinstance(x, float) for x in out)
    assert out[0] < out[1] < out[2] and all(0.0 <= x <= 1.0 for x in out)
    assert out[0] == pytest.approx((min(10, 1 + len(completions[0]) // 10) - 1) / 9)
    assert reward.__name__ == "skillrm_judge_pointwise"
    assert len(rec.requests) == 3  # one batched step, one judgment per sample
    s = reward.last_stats
    assert s["samples"] == 3 and s["judgments"] == 3 and s["failed_samples"] == 0 and s["parse_failures"] == 0
    assert s["latency_s"] >= 0 and reward.total_stats["calls"] == 1


def test_trl_name_is_what_trl_logs():
    trl_utils = pytest.importorskip("trl.trainer.utils")
    reward = JudgeReward(backend=ScriptedBackend(length_judge), name="judge")
    assert trl_utils.get_callable_name(reward) == "judge"
    assert not trl_utils.is_async_callable(reward)


def test_trl_call_with_conversational_completions_and_resource_columns():
    seen = {}

    def policy(req):
        ep, cands = shown(req)
        seen[ep.task.id] = (ep.task.prompt, cands[0], ep.env.sample_view(), ep.task.domain)
        return "[[7]]"

    reward = JudgeReward(backend=ScriptedBackend(policy), setting="skill_operational")
    prompts = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}],
               [{"role": "user", "content": [{"type": "text", "text": "Write one lowercase word."}]}]]
    completions = [[{"role": "assistant", "content": RIGHT}], [{"role": "assistant", "content": "cat"}]]
    metrics, extra = {}, {}
    out = reward(
        prompts=prompts, completions=completions,
        reference=["18", None],
        checklist=[None, '["one word", "lowercase"]'],
        constraints=[None, [{"id": "change_case:english_lowercase", "kwargs": {}}]],
        tests=[None, None], domain=["math", "instruction_following"],
        completion_ids=[[5, 6], [7]], trainer_state=None, some_unrelated_column=[1, 2],
        log_metric=lambda k, v: metrics.__setitem__(k, v), log_extra=lambda k, v: extra.__setitem__(k, v),
    )
    assert out == [pytest.approx(6 / 9)] * 2
    (p0, c0, r0, d0), (p1, c1, r1, d1) = seen.values()
    assert p0 == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    assert c0 == RIGHT and r0 == {"reference": "18"} and d0 == "math"
    assert p1 == [{"role": "user", "content": "Write one lowercase word."}] and c1 == "cat"
    assert r1 == {"checklist": ["one word", "lowercase"],
                  "constraints": [{"id": "change_case:english_lowercase", "kwargs": {}}]}
    assert d1 == "instruction_following"
    assert metrics["skillrm_judge_pointwise/failure_rate"] == 0.0 and "skillrm_judge_pointwise/latency_s" in metrics
    assert extra["skillrm_judge_pointwise_verdicts"] == ["7", "7"]


def test_resources_reach_the_judge_only_in_the_operational_setting():
    views = []

    def policy(req):
        views.append(req.context.env.sample_view())
        return "[[5]]"

    for setting in ("skill_fair", "skill_operational"):
        JudgeReward(backend=ScriptedBackend(policy), setting=setting)(
            prompts=[QUESTION], completions=[RIGHT], reference=["18"])
    assert views == [{}, {"reference": "18"}]


def test_column_length_mismatch_and_missing_prompts_are_errors():
    reward = JudgeReward(backend=ScriptedBackend(length_judge))
    with pytest.raises(ValueError, match="column 'reference'"):
        reward(prompts=["a", "b"], completions=["x", "y"], reference=["only one"])
    with pytest.raises(ValueError, match="one prompt per completion"):
        reward(prompts=["a"], completions=["x", "y"])
    with pytest.raises(ValueError, match="sample 0: .*constraints"):
        reward(prompts=["a"], completions=["x"], constraints=[[{"kwargs": {}}]])


def test_pointwise_judge_running_the_math_verifier_prefers_the_correct_completion():
    rec = Recorder(math_judge)
    reward = JudgeReward(backend=rec.backend, setting="skill_operational")
    out = reward(prompts=[QUESTION, QUESTION], completions=[RIGHT, WRONG], reference=["18", "18"])
    assert out == [pytest.approx(8 / 9), pytest.approx(1 / 9)]
    assert out[0] > out[1]
    for res in reward.last_results:
        assert res.ok and res.tool_calls == 2 and "verifier.math_answer" in res.used_resources
    assert reward.last_stats["mean_tool_calls"] == 2.0
    tool_msgs = [m["content"] for r in rec.requests for m in r.messages if m["role"] == "tool"]
    assert any("matches_reference=True" in t for t in tool_msgs) and any("matches_reference=False" in t
                                                                         for t in tool_msgs)


# --- pairwise ------------------------------------------------------------------------------------------

def test_pairwise_judges_both_orders_and_averages():
    rec = Recorder(length_judge)
    reward = JudgeReward(backend=rec.backend, setting="skill_fair", mode="pairwise")
    long_c, short_b = "a long and detailed completion", "short"
    out = reward(prompts=[QUESTION, QUESTION], completions=[long_c, "tiny"],
                 baseline=[short_b, "a long baseline response here"])
    assert out == [1.0, 0.0]
    assert reward.__name__ == "skillrm_judge_pairwise"
    # the backend saw every sample in both orders: (completion, baseline) and (baseline, completion)
    shown_pairs = {(r.context.task.id, tuple(r.context.order)): tuple(shown(r)[1]) for r in rec.requests}
    ids = sorted({k[0] for k in shown_pairs})
    assert len(ids) == 2 and len(shown_pairs) == 4
    assert shown_pairs[(ids[0], (0, 1))] == (long_c, short_b)
    assert shown_pairs[(ids[0], (1, 0))] == (short_b, long_c)
    assert reward.last_results[0].judge_scores == [1.0, 1.0]


def test_pairwise_position_bias_and_ties_average_out():
    always_a = JudgeReward(backend=ScriptedBackend(lambda req: "[[A]]"), mode="pairwise", setting="skill_fair")
    assert always_a(prompts=["q"], completions=["c"], reference_response=["b"]) == [0.5]
    assert always_a.last_results[0].judge_scores == [1.0, 0.0]
    tie = JudgeReward(backend=ScriptedBackend(lambda req: "[[tie]]"), mode="pairwise", setting="skill_fair")
    assert tie(prompts=["q"], completions=["c"], baseline=["b"]) == [0.5]


def test_pairwise_needs_a_baseline():
    reward = JudgeReward(backend=ScriptedBackend(length_judge), mode="pairwise")
    with pytest.raises(ValueError, match="baseline"):
        reward(prompts=["q"], completions=["c"])


# --- failures and timeouts -----------------------------------------------------------------------------

def test_parse_failures_get_the_failure_reward_and_are_counted():
    def policy(req):
        _, cands = shown(req)
        return "I cannot decide." if "garbage" in cands[0] else "[[10]]"

    reward = JudgeReward(backend=ScriptedBackend(policy), setting="baseline")
    out = reward(prompts=["q"] * 3, completions=["fine", "garbage", "also fine"])
    assert out == [1.0, 0.0, 1.0]  # default failure reward: 0.0, the floor
    s = reward.last_stats
    assert s["parse_failures"] == 1 and s["failed_samples"] == 1 and s["failure_rate"] == pytest.approx(1 / 3)
    bad = reward.last_results[1]
    assert not bad.ok and "parse failure" in bad.error and bad.judge_scores == [None]

    custom = JudgeReward(backend=ScriptedBackend(policy), setting="baseline", failure_reward=0.25)
    assert custom(prompts=["q"], completions=["garbage"]) == [0.25]
    trl_none = JudgeReward(backend=ScriptedBackend(policy), setting="baseline", failure_reward=None)
    assert trl_none(prompts=["q", "q"], completions=["garbage", "fine"]) == [None, 1.0]
    with pytest.raises(ValueError):
        JudgeReward(backend=ScriptedBackend(policy), failure_reward=math.nan)


def test_pairwise_with_one_unparseable_order_fails_the_sample():
    def policy(req):
        return "[[A]]" if req.context.order == [0, 1] else "no idea"

    strict = JudgeReward(backend=ScriptedBackend(policy), mode="pairwise", setting="skill_fair")
    assert strict(prompts=["q"], completions=["c"], baseline=["b"]) == [0.0]
    assert strict.last_stats["parse_failures"] == 1 and strict.last_stats["failed_samples"] == 1
    lenient = JudgeReward(backend=ScriptedBackend(policy), mode="pairwise", setting="skill_fair",
                          require_both_orders=False)
    assert lenient(prompts=["q"], completions=["c"], baseline=["b"]) == [1.0]


def test_no_verdict_within_max_steps_is_a_counted_failure():
    reward = JudgeReward(backend=ScriptedBackend(lambda req: tool_call("list_resources")),
                         agent=AgentConfig(max_steps=3), failure_reward=0.1)
    assert reward(prompts=["q"], completions=["c"]) == [0.1]
    assert reward.last_stats["parse_failures"] == 1 and reward.last_results[0].tool_calls == 3


def test_timeout_returns_at_the_deadline_with_failure_rewards_for_what_did_not_finish():
    def policy(req):
        ep, cands = shown(req)
        if "SLOW" not in cands[0]:
            return "[[8]]"
        if ep.steps == 0:
            return tool_call("list_resources")
        time.sleep(1.0)  # the second step of the slow judgment overruns the budget
        return "[[10]]"

    reward = JudgeReward(backend=ScriptedBackend(policy), setting="skill_fair", timeout_s=0.4)
    t0 = time.perf_counter()
    out = reward(prompts=["q"] * 3, completions=["fast one", "SLOW one", "fast two"])
    took = time.perf_counter() - t0
    assert took < 0.9, f"the call should return at its deadline, took {took:.2f}s"
    assert out == [pytest.approx(7 / 9), 0.0, pytest.approx(7 / 9)]
    s = reward.last_stats
    assert s["timeouts"] == 1 and s["failed_samples"] == 1 and s["parse_failures"] == 0
    assert reward.last_results[1].timed_out and reward.last_results[1].error == "timeout"
    # the overrunning step still holds the backend: a call right away gets only timeouts, never a race
    assert reward(prompts=["q"], completions=["fast"]) == [0.0]
    assert reward.last_stats["timeouts"] == 1
    time.sleep(1.0)
    assert reward(prompts=["q"], completions=["fast"]) == [pytest.approx(7 / 9)]
    assert reward.total_stats["timeouts"] == 2 and reward.total_stats["calls"] == 3


def test_timeout_stops_long_episodes_at_a_step_boundary():
    def policy(req):
        time.sleep(0.05)
        return tool_call("list_resources")  # never answers

    reward = JudgeReward(backend=ScriptedBackend(policy), setting="skill_fair", timeout_s=0.2,
                         agent=AgentConfig(max_steps=50))
    t0 = time.perf_counter()
    assert reward(prompts=["q", "q"], completions=["a", "b"]) == [0.0, 0.0]
    assert time.perf_counter() - t0 < 0.6
    assert reward.last_stats["timeouts"] == 2
    reward._worker.join(2.0)
    assert not reward._worker.is_alive()  # the loop stopped at the next step, not after 50 steps
    assert TIMEOUT_ERROR.startswith("judge timeout")


def test_a_backend_exception_propagates_when_it_happens_in_time():
    def policy(req):
        raise RuntimeError("backend exploded")

    reward = JudgeReward(backend=ScriptedBackend(policy), timeout_s=5.0)
    with pytest.raises(RuntimeError, match="exploded"):
        reward(prompts=["q"], completions=["c"])


def test_a_call_budget_and_a_cancel_event_stop_the_call():
    def policy(req):
        time.sleep(0.05)
        return tool_call("list_resources")  # never answers

    reward = JudgeReward(backend=ScriptedBackend(policy), setting="skill_fair", agent=AgentConfig(max_steps=50))
    samples = [RewardSample(prompt=QUESTION, completion="a"), RewardSample(prompt=QUESTION, completion="b")]
    t0 = time.perf_counter()
    results = reward.score(samples, budget_s=0.2)
    assert time.perf_counter() - t0 < 0.6
    assert [r.timed_out for r in results] == [True, True] and reward.last_stats["timeouts"] == 2

    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    t0 = time.perf_counter()
    results = reward.score(samples, cancel=cancel)  # no budget: only the event stops it
    assert 0.15 < time.perf_counter() - t0 < 0.6
    assert all(r.timed_out and r.reward == 0.0 for r in results)
    reward._worker.join(2.0)
    assert not reward._worker.is_alive()


# --- backends --------------------------------------------------------------------------------------------

def test_the_backend_is_a_backend_a_config_or_a_kind_with_shorthand_options():
    scripted = ScriptedBackend(length_judge)
    assert backend_for("m", scripted) is scripted
    lazy = backend_for("served-judge", "openai", base_url="http://127.0.0.1:9/v1,http://127.0.0.1:10/v1")
    assert isinstance(lazy, LazyBackend) and lazy.cfg.kind == "openai"
    assert lazy.cfg.urls() == ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]
    assert backend_for("m", "hf", batch_size=4).cfg.batch_size == 4
    cfg = BackendConfig(kind="openai", base_urls=["http://127.0.0.1:9/v1"], concurrency=3)
    assert backend_for("m", cfg).cfg is cfg
    assert backend_for("m").cfg.kind == "hf"
    with pytest.raises(ValueError, match="only go with a backend kind"):
        backend_for("m", cfg, batch_size=4)
    with pytest.raises(ValueError, match="base_urls"):
        JudgeReward("served-judge", backend="openai")  # refused when built, not at the first call


def test_a_scripted_kind_is_built_on_first_use():
    reward = JudgeReward(backend="scripted:tests.test_reward:length_judge", setting="baseline")
    assert reward.describe_backend() == "scripted:tests.test_reward:length_judge:smollm2-135m"
    assert reward(prompts=[QUESTION], completions=["x" * 30]) == [pytest.approx(3 / 9)]
    assert reward.describe_backend() == "scripted:length_judge"


# --- real models (slow) ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_real_tiny_model_rewards_are_numbers_and_failures_are_counted(tiny_model_dir):
    reward = JudgeReward(str(tiny_model_dir), backend="hf", setting="baseline", batch_size=4,
                         agent=AgentConfig(max_new_tokens=8))
    out = reward(prompts=[QUESTION] * 3, completions=[RIGHT, WRONG, ""], reference=["18"] * 3)
    assert len(out) == 3 and all(isinstance(x, float) and 0.0 <= x <= 1.0 for x in out)
    s = reward.last_stats
    # random weights: mostly failures
    assert s["judgments"] == 3 and s["parse_failures"] + (3 - s["failed_samples"]) == 3
    assert reward.describe_backend().startswith("hf:")


@pytest.mark.slow
def test_trl_grpo_trainer_runs_a_step_with_the_judge_reward(tiny_model_dir, tmp_path):
    trl = pytest.importorskip("trl")
    from datasets import Dataset

    rec = Recorder(length_judge)
    reward = JudgeReward(backend=rec.backend, setting="skill_operational", name="skill_judge")
    ds = Dataset.from_dict({"prompt": [QUESTION, "Name a colour."], "reference": ["18", "red"]})
    args = trl.GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, num_generations=2,
                          max_completion_length=8, report_to=[], logging_steps=1, use_cpu=True, save_strategy="no",
                          bf16=False)
    trainer = trl.GRPOTrainer(model=str(tiny_model_dir), reward_funcs=reward, args=args, train_dataset=ds)
    trainer.train()
    assert reward.total_stats["calls"] >= 1 and reward.total_stats["samples"] >= 2
    refs = {r.context.env.sample_view().get("reference") for r in rec.requests}
    assert refs <= {"18", "red"} and refs  # the dataset column reached the judge as the sample's reference
    logged = {k for entry in trainer.state.log_history for k in entry}
    assert any("skill_judge" in k for k in logged), logged
