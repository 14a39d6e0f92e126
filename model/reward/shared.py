"""The process-wide judge reward (verl's compute_score): configured by SKILLRM_REWARD_* environment
variables and verl's `custom_reward_function.reward_kwargs`, built once per configuration.

    SKILLRM_REWARD_MODEL        judge model spec (default smollm2-135m); its judge_config.json sets the protocol
    SKILLRM_REWARD_SETTING      default: the judge's trained setting, else skill_operational
    SKILLRM_REWARD_MODE         pointwise (default) | pairwise
    SKILLRM_REWARD_BACKEND      hf (default) | openai | vllm | scripted:MODULE:FUNCTION
    SKILLRM_REWARD_BASE_URL     openai: server URL(s), comma-separated
    SKILLRM_REWARD_BATCH_SIZE   hf: sequences per generate call
    SKILLRM_REWARD_TIMEOUT      wall-clock seconds per call (default: no limit)
    SKILLRM_REWARD_FAILURE      reward of a failed judgment (default 0.0)
    SKILLRM_REWARD_RETURN_DICT  1: compute_score returns {"score", "judge_ok", ...} for verl's reward_extra_info

reward_kwargs use the same names in lower case (model, setting, mode, backend, base_url, batch_size,
timeout_s, failure_reward, return_dict) and win over the environment; `backend` may also be a mapping
of BackendConfig fields ({kind: openai, base_urls: [...], concurrency: 32}). Other keys are ignored.
"""
from __future__ import annotations

import dataclasses
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from model.backends import BackendConfig
from model.loading import DEFAULT_MODEL
from model.reward.core import JudgeReward

ENV_VARS = {
    "model": "SKILLRM_REWARD_MODEL",
    "setting": "SKILLRM_REWARD_SETTING",
    "mode": "SKILLRM_REWARD_MODE",
    "backend": "SKILLRM_REWARD_BACKEND",
    "base_url": "SKILLRM_REWARD_BASE_URL",
    "batch_size": "SKILLRM_REWARD_BATCH_SIZE",
    "timeout_s": "SKILLRM_REWARD_TIMEOUT",
    "failure_reward": "SKILLRM_REWARD_FAILURE",
    "return_dict": "SKILLRM_REWARD_RETURN_DICT",
}


@dataclass
class SharedRewardConfig:
    model: str = DEFAULT_MODEL
    setting: str | None = None  # None: the judge's trained setting
    mode: str = "pointwise"
    backend: BackendConfig = field(default_factory=BackendConfig)
    timeout_s: float | None = None
    failure_reward: float = 0.0
    return_dict: bool = False

    def key(self) -> str:
        """What makes two configurations build different judges (return_dict only shapes the output)."""
        return json.dumps({**dataclasses.asdict(self), "return_dict": None}, sort_keys=True, default=str)


def reward_config(**overrides: Any) -> SharedRewardConfig:
    """Defaults <- SKILLRM_REWARD_* <- overrides (reward_kwargs). A bad value raises ValueError naming
    the variable or keyword it came from."""
    raw: dict[str, tuple[Any, str]] = {k: (os.environ[v], v) for k, v in ENV_VARS.items()
                                       if os.environ.get(v, "") != ""}
    raw.update({k: (v, f"reward_kwargs.{k}") for k, v in overrides.items() if k in ENV_VARS and v is not None})

    def get(key: str, cast: Any, default: Any = None) -> Any:
        if key not in raw:
            return default
        value, source = raw[key]
        try:
            return cast(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}={value!r}: {e}") from None

    cfg = SharedRewardConfig(
        model=get("model", str, DEFAULT_MODEL), setting=get("setting", str), mode=get("mode", str, "pointwise"),
        backend=get("backend", _backend_config, BackendConfig()),
        timeout_s=get("timeout_s", lambda v: None if str(v) in ("", "0", "0.0") else float(v)),
        failure_reward=get("failure_reward", float, 0.0), return_dict=get("return_dict", _flag, False))
    if "base_url" in raw:
        cfg.backend.base_urls = get("base_url", lambda v: [v] if isinstance(v, str) else [str(u) for u in v])
    if "batch_size" in raw:
        cfg.backend.batch_size = get("batch_size", int)
    try:
        cfg.backend.validate()
    except ValueError as e:
        raise ValueError(f"reward backend ({ENV_VARS['backend']} / reward_kwargs.backend): {e}") from None
    return cfg


def _backend_config(value: Any) -> BackendConfig:
    if isinstance(value, BackendConfig):
        return dataclasses.replace(value)
    if isinstance(value, dict):
        unknown = set(value) - {f.name for f in dataclasses.fields(BackendConfig)}
        if unknown:
            raise ValueError(f"unknown backend keys {sorted(unknown)}")
        return BackendConfig(**value)
    return BackendConfig(kind=str(value))


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes")


_SHARED: dict[str, JudgeReward] = {}
_SHARED_LOCK = threading.Lock()


def shared_reward(**overrides: Any) -> JudgeReward:
    """One JudgeReward per process (per distinct configuration), built lazily on first use."""
    cfg = reward_config(**overrides)
    key = cfg.key()
    with _SHARED_LOCK:
        reward = _SHARED.get(key)
        if reward is None:
            reward = JudgeReward(cfg.model, backend=cfg.backend, setting=cfg.setting, mode=cfg.mode,
                                 timeout_s=cfg.timeout_s, failure_reward=cfg.failure_reward)
            _SHARED[key] = reward
    return reward
