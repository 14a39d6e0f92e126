"""GRPO in a tool setting, through train.rl's own step (rollouts in the agent loop with real tools,
rewards, group advantages, the DeepSpeed update), on a policy small enough to learn in seconds.

A tiny random LM cannot learn the tool-call syntax in seconds, so the policy here is a controllable
one: its only free choice is the first token of its first turn, VERIFY or GUESS, with probabilities
softmax(theta) (the trained weights). Every other token it emits is a deterministic function of the
conversation (log-probability 0): after VERIFY it calls view_resource on the sample's reference and,
once it has read it, answers with the response that matches; after GUESS it answers "A" at once.
The toy task (a secret code only the reference knows, judged in both candidate orders) can only be
solved through the tool, so the reward rises iff the update raises p(VERIFY)."""
from __future__ import annotations

import math
import re

import pytest
import torch

from model.agent import load_skills, tool_call
from model.backends.base import Backend, Generation
from model.backends.prompt_guard import encode_prompt
from model.protocol import SKILL_OPERATIONAL
from model.records import JudgeTask
from train.grpo import RewardConfig, step_rewards
from train.rl import RLConfig, grpo_step

VERIFY, GUESS = " Verify", " guess"  # single tokens of the SmolLM2 tokenizer


class DecisionPolicy(torch.nn.Module):
    """log p(target) at the selected positions: log softmax(theta) at the decision tokens, 0 elsewhere.
    Records theta at every forward (for the hand computation of the loss)."""

    def __init__(self, decision_ids: tuple[int, int], theta: tuple[float, float]):
        super().__init__()
        self.decision_ids = decision_ids
        self.theta = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float32))
        self.seen: list[list[float]] = []

    def p_verify(self) -> float:
        return float(torch.softmax(self.theta.detach(), -1)[0])

    def forward(self, input_ids, attention_mask, targets, select):
        self.seen.append(self.theta.detach().tolist())
        t = targets[select]
        lsm = torch.log_softmax(self.theta, -1)
        zero = torch.zeros(t.shape, dtype=lsm.dtype)
        return torch.where(t == self.decision_ids[0], lsm[0], torch.where(t == self.decision_ids[1], lsm[1], zero))


class DecisionBackend(Backend):
    """Samples each episode's first token from the policy; the rest of its turns are scripted."""

    name = "decision-policy"

    def __init__(self, tokenizer, policy: DecisionPolicy):
        from model.chat_template import end_of_turn_token

        self.tokenizer = tokenizer
        self.policy = policy
        self.eot_id = tokenizer.convert_tokens_to_ids(end_of_turn_token(tokenizer))
        self.stop_ids = [self.eot_id]

    def encode(self, req):
        return encode_prompt(self.tokenizer, req)

    def generate(self, requests, sampling):
        gen = torch.Generator().manual_seed(sampling.seed)
        probs = torch.softmax(self.policy.theta.detach().float(), -1)
        out = []
        for req in requests:
            tool_msgs = [m for m in req.messages if m["role"] == "tool"]
            first = []
            if not tool_msgs:  # the decision
                verify = bool(torch.multinomial(probs, 1, generator=gen).item() == 0)
                first = [self.policy.decision_ids[0 if verify else 1]]
                text = (tool_call("view_resource", path="sample.reference", reason="the code is in it") if verify
                        else tool_call("final_answer", verdict="A", confidence=0.5, reason="a hunch"))
            else:  # read the reference, answer with the matching response
                code = re.search(r"\d+", tool_msgs[-1]["content"]).group()
                user = next(m["content"] for m in req.messages if m["role"] == "user")
                shown = dict(re.findall(r"\[Response ([A-D])\]\s*The code is (\d+)", user))
                label = next((lab for lab, c in shown.items() if c == code), "A")
                text = tool_call("final_answer", verdict=label, confidence=1.0, reason="matches the reference")
            rest = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            assert not set(rest) & set(self.policy.decision_ids), "decision tokens must be unambiguous"
            ids = first + rest + [self.eot_id]
            out.append(Generation(text=self.tokenizer.decode(first) + text, completion_ids=ids,
                                  completion_tokens=len(ids), prompt_ids=list(req.prompt_ids or [])))
        return out


def vault_tasks(n: int) -> list[tuple[JudgeTask, str]]:
    """Which response has vault i's secret code? Only the sample's reference knows (gold 0)."""
    from model.records import Resources

    tasks = []
    for i in range(n):
        right, wrong = 100 + 7 * i, 500 + 11 * i
        tasks.append((JudgeTask(id=f"vault{i}", source="toy", kind="pairwise",
                                prompt=f"What is the secret code of vault {i}?",
                                candidates=[f"The code is {right}.", f"The code is {wrong}."], gold=0,
                                resources=Resources(reference=str(right))), SKILL_OPERATIONAL))
    return tasks


def _setup(tokenizer, theta, **overrides):
    from model.chat_template import ensure_tool_template
    from train.engine import build_ds_config, init_distributed, make_engine, quiet_deepspeed

    tok = ensure_tool_template(tokenizer)
    ids = tuple(tok(w, add_special_tokens=False)["input_ids"] for w in (VERIFY, GUESS))
    assert all(len(i) == 1 for i in ids)
    policy = DecisionPolicy((ids[0][0], ids[1][0]), theta)
    cfg = RLConfig(model="decision-policy", tasks_per_step=4, group_size=8, micro_batch_size=32, max_steps=8,
                   lr=0.3, warmup_steps=0, min_lr_ratio=1.0, max_grad_norm=0.0, precision="fp32", wandb=False,
                   **overrides)
    cfg.global_batch_size = cfg.tasks_per_step * cfg.group_size
    cfg.agent.track_tokens = True
    cfg.agent.max_steps = 4
    d = init_distributed()
    quiet_deepspeed()
    engine = make_engine(policy, cfg, build_ds_config(cfg, 1, "fp32", None), cfg.max_steps * cfg.ppo_epochs)
    return tok, policy, cfg, engine, DecisionBackend(tok, policy), load_skills(cfg.agent), d


def test_grpo_learns_to_call_the_verifier(smollm_tokenizer):
    tok, policy, cfg, engine, backend, skills, d = _setup(smollm_tokenizer, theta=(-1.0, 1.0))
    tasks = vault_tasks(4)
    p0 = policy.p_verify()
    rewards, p_verify, tool_calls = [], [], []
    for step in range(cfg.max_steps):
        res = grpo_step(engine, backend, skills, tasks, cfg, step, None, 1, d.device, tok.pad_token_id)
        assert all(t.invalid_tool_calls == 0 and t.parse_ok for t in res.trajectories)
        verified = [t for t in res.trajectories if t.tool_calls == 2]
        assert all(t.correct for t in verified)  # the tool path is always right: the task is solvable
        rewards.append(sum(res.rewards) / len(res.rewards))
        tool_calls.append(len(verified) / len(res.trajectories))
        p_verify.append(policy.p_verify())
    first, last = sum(rewards[:2]) / 2, sum(rewards[-2:]) / 2
    assert p0 < 0.2 and p_verify[-1] > 0.9, p_verify
    assert last > first + 0.25, [round(r, 3) for r in rewards]
    assert tool_calls[-1] > tool_calls[0]


def test_ppo_epochs_clip_and_kl_match_a_hand_computation(smollm_tokenizer):
    """Three passes over one step's rollouts with a KL to the initial policy: pass 1 is on-policy
    (ratio 1, KL 0), later passes are clipped and pay a positive KL; each pass's loss equals the
    clipped surrogate + k3 KL computed here by hand from the policy's weights at that pass."""
    kl_coef, clip_eps = 0.5, 0.1
    tok, policy, cfg, engine, backend, skills, d = _setup(
        smollm_tokenizer, theta=(0.0, 0.0), ppo_epochs=3, clip_eps=clip_eps, kl_coef=kl_coef)
    ref = DecisionPolicy(policy.decision_ids, (0.0, 0.0)).requires_grad_(False)
    policy.seen.clear()
    res = grpo_step(engine, backend, skills, vault_tasks(4), cfg, 0, ref, 1, d.device, tok.pad_token_id)
    epochs = res.update["epochs"]
    assert len(epochs) == 3
    # the no-grad old-logprob pass, then one forward per pass (one micro-batch)
    thetas = policy.seen
    assert len(thetas) == 4 and thetas[0] == thetas[1] and thetas[2] != thetas[1]

    from train.grpo import group_advantages

    groups = [int(t.task_id.removeprefix("vault")) for t in res.trajectories]
    adv = group_advantages(res.rewards, groups)
    decisions = [0 if t.tool_calls == 2 else 1 for t in res.trajectories]
    n_policy = sum(sum(ep.ledger.mask) for ep in res.episodes)
    # the mask counts every completion token; the decision token is the first of each episode
    old = [math.log(0.5)] * 2
    for k, theta in enumerate(thetas[1:]):
        lsm = [theta[i] - math.log(math.exp(theta[0]) + math.exp(theta[1])) for i in (0, 1)]
        loss = clipped = 0.0
        for a, c in zip(adv, decisions):
            ratio = math.exp(lsm[c] - old[c])
            loss += -min(ratio * a, min(max(ratio, 1 - clip_eps), 1 + clip_eps) * a)
            delta = old[c] - lsm[c]  # the reference is the initial policy: log 0.5 for both choices
            loss += kl_coef * (math.exp(delta) - delta - 1)
            clipped += abs(ratio - 1) > clip_eps
        # scripted tokens: log p = 0 under policy, old and reference: ratio 1, KL 0, surrogate -adv
        n_scripted = n_policy - len(adv)
        scripted = [-a * (sum(ep.ledger.mask) - 1) for a, ep in zip(adv, res.episodes)]
        loss += sum(scripted)
        assert epochs[k]["loss"] == pytest.approx(loss / n_policy, rel=1e-4, abs=1e-6), k
        assert epochs[k]["clip_frac"] == pytest.approx(clipped / n_policy), k
        assert n_scripted > 0
    assert epochs[0]["clip_frac"] == 0.0 and epochs[0]["kl"] == 0.0
    assert epochs[-1]["clip_frac"] > 0 and res.update["clip_frac_last_epoch"] > 0
    assert all(math.isfinite(e["kl"]) for e in epochs) and epochs[1]["kl"] > 0 and epochs[2]["kl"] > 0


def _traj(order, correct, **kw):
    from model.records import Trajectory

    base = dict(task_id="t", setting=SKILL_OPERATIONAL, order=order, messages=[], verdict="A", choice=0,
                parse_ok=True, correct=correct, tool_calls=2, invalid_tool_calls=0, meta={"parse": "final_answer"})
    base.update(kw)
    return Trajectory(**base)


def test_reward_shaping_flags():
    """Right in both orders (opt-in), valid format and error-free tool calls (on by default)."""
    trajs = [_traj([0, 1], True), _traj([1, 0], False), _traj([0, 1], True), _traj([1, 0], True),
             _traj([0, 1], True, invalid_tool_calls=1), _traj([0, 1], True, meta={"parse": "final_line"})]
    groups = ["g", "g", "g", "g", "h", "h"]
    budgets = [None] * len(trajs)
    assert step_rewards(trajs, budgets, groups, RewardConfig()) == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    # both orders: trajectory 0's twin (1) is wrong -> no credit; 2 and 3 are a right pair
    assert step_rewards(trajs, budgets, groups, RewardConfig(both_orders=True)) == [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    loose = RewardConfig(require_valid_tool_calls=False, require_final_answer=False)
    assert step_rewards(trajs, budgets, groups, loose)[4:] == [1.0, 1.0]
    # a direct setting answers without final_answer; every direct setting, not just one name
    from model.protocol import DIRECT_SETTINGS

    for name in DIRECT_SETTINGS:
        assert step_rewards([_traj([0, 1], True, setting=name, meta={"parse": "brackets"})], [None], ["g"],
                            RewardConfig()) == [1.0]


def test_step_metrics_report_the_rollouts_position_a_rate():
    """The order preference GRPO can learn shows in the training log: the share of "A" among parsed
    slot verdicts (unparsed rollouts and pointwise scores left out, as judgment_stats does); and the
    share of groups (tasks) whose rewards differ, the only ones that move the policy."""
    from types import SimpleNamespace

    from train.rl_metrics import step_metrics

    trajs = [_traj([0, 1], True, task_id="a"), _traj([1, 0], False, task_id="a"),
             _traj([1, 0], True, verdict="B", task_id="a"), _traj([0, 1], False, verdict="tie", task_id="b"),
             _traj([0, 1], False, verdict=None, parse_ok=False, task_id="b"),
             _traj([0, 1], True, verdict="7", score=7.0, task_id="b")]
    eps = [SimpleNamespace(ledger=SimpleNamespace(mask=[1, 1, 0]))] * len(trajs)
    engine = SimpleNamespace(get_lr=lambda: [1e-5])
    m = step_metrics(trajs, [1.0] * len(trajs), eps, 2.0, 1.0, engine, {}, SimpleNamespace(device="cpu"))
    assert m["position_a_rate"] == 2 / 4 and m["parse_failure_rate"] == 1 / 6 and m["response_tokens"] == 2
    assert m["informative_group_rate"] == 0.0  # every reward 1.0: no group carries a signal
    mixed = step_metrics(trajs, [1.0, 0.0, 1.0, 0.0, 0.0, 0.0], eps, 2.0, 1.0, engine, {},
                         SimpleNamespace(device="cpu"))
    assert mixed["informative_group_rate"] == 1 / 2  # task "a" has 1 and 0, task "b" only 0
    assert step_metrics(trajs[4:5], [0.0], eps[:1], 1.0, 1.0, engine, {}, SimpleNamespace(device="cpu"))[
        "position_a_rate"] is None


def test_rl_protocol_keeps_the_initial_judges_protocol_and_adds_the_rollouts_settings():
    """A GRPO-trained judge is saved with how it is to be run: null agent fields come from the SFT judge's
    trained protocol, explicit ones from the RL config; its settings are the SFT judge's, then the RL ones."""
    from model.agent import AgentConfig
    from model.protocol import JudgeProtocol
    from train.rl import rl_protocol

    sft = JudgeProtocol(settings=["skill_operational"], prompt_style="compact", max_steps=4, max_new_tokens=128)
    agent = AgentConfig(max_steps=3, temperature=1.0)  # prompt_style / max_new_tokens left null
    pool = [(None, "skill_fair"), (None, "skill_operational"), (None, "skill_fair")]
    with pytest.warns(UserWarning, match="max_steps=3 differs from the judge's trained protocol"):
        p = rl_protocol(agent, sft, "", pool, "rl.jsonl")
    assert (p.settings, p.prompt_style, p.max_steps, p.max_new_tokens) == (
        ["skill_operational", "skill_fair"], "compact", 3, 128)
    assert p.source == "rl.jsonl"
    bare = rl_protocol(agent, None, "skill_fair", pool, "rl.jsonl")  # a base model: the defaults
    assert (bare.settings, bare.prompt_style, bare.max_new_tokens) == (["skill_fair"], "full", 512)
