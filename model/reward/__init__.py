"""The judge as a reward for policy RL: one `JudgeReward`, three front ends (DESIGN.md "One runtime, four users").

    from model.reward import JudgeReward
    reward = JudgeReward(model="outputs/quickstart/sft_skill/final_model", mode="pointwise")
    trainer = GRPOTrainer(model=..., reward_funcs=reward, train_dataset=ds)   # TRL, as-is

    # verl: custom_reward_function.path=model/reward/verl.py custom_reward_function.name=compute_score
    # OpenRLHF: python -m model.reward.server --model ... --port 5000; --remote_rm_url http://host:5000/get_reward

Modules: inputs (samples, results, coercion of TRL / verl / HTTP inputs), core (JudgeReward and its
time budget), stats (its counters), shared + verl (the process-wide reward and verl's compute_score),
openrlhf (OpenRLHF's wire format), scheduler + server (the HTTP server). Every entry point judges with the
judge's trained protocol (judge_config.json in its model folder) unless told otherwise.
"""
from __future__ import annotations

from model.reward.core import FROM_MODEL, MODES, TIMEOUT_ERROR, JudgeReward, backend_for
from model.reward.inputs import (
    RewardResult,
    RewardSample,
    completion_text,
    content_text,
    prompt_value,
    resources_from,
    sample_from_fields,
)
from model.reward.shared import ENV_VARS, SharedRewardConfig, reward_config, shared_reward
from model.reward.verl import compute_score, compute_score_batch

__all__ = ["JudgeReward", "RewardSample", "RewardResult", "compute_score", "compute_score_batch", "shared_reward",
           "reward_config", "SharedRewardConfig", "ENV_VARS", "backend_for", "sample_from_fields", "resources_from",
           "completion_text", "content_text", "prompt_value", "MODES", "TIMEOUT_ERROR", "FROM_MODEL"]
