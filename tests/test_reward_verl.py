"""verl's custom reward function (model/reward/verl.py): the SKILLRM_REWARD_* / reward_kwargs configuration
(a BackendConfig for the backend), one shared judge per configuration, the per-sample and batch calls,
and loading the file by path the way verl does, from another working directory."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import model.reward.shared as shared_mod
from model.backends import BackendConfig
from model.protocol import SKILL_OPERATIONAL
from model.reward import ENV_VARS, compute_score, compute_score_batch, reward_config
from tests.test_reward import QUESTION, RIGHT, WRONG

REPO = Path(__file__).resolve().parent.parent
VERL_FILE = REPO / "model" / "reward" / "verl.py"


@pytest.fixture
def env(monkeypatch):
    """No SKILLRM_REWARD_* from outside, no judge left from another test; the scripted math judge."""
    monkeypatch.setattr(shared_mod, "_SHARED", {})
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SKILLRM_REWARD_BACKEND", "scripted:tests.test_reward:math_judge")
    return monkeypatch


def test_the_environment_maps_into_a_backend_config(env):
    env.setenv("SKILLRM_REWARD_MODEL", "my-judge")
    env.setenv("SKILLRM_REWARD_BACKEND", "openai")
    env.setenv("SKILLRM_REWARD_BASE_URL", "http://127.0.0.1:8000/v1,http://127.0.0.1:8001/v1")
    env.setenv("SKILLRM_REWARD_TIMEOUT", "30")
    env.setenv("SKILLRM_REWARD_RETURN_DICT", "yes")
    cfg = reward_config()
    assert cfg.model == "my-judge" and cfg.setting is None and cfg.mode == "pointwise"
    assert cfg.backend.kind == "openai" and cfg.backend.urls() == ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"]
    assert cfg.timeout_s == 30.0 and cfg.return_dict is True and cfg.failure_reward == 0.0
    # reward_kwargs win; the backend may be a mapping of BackendConfig fields
    env.delenv("SKILLRM_REWARD_BASE_URL")
    cfg = reward_config(backend={"kind": "hf", "batch_size": 2, "dtype": "float32"}, batch_size=4, timeout_s=0)
    assert cfg.backend == BackendConfig(kind="hf", batch_size=4, dtype="float32") and cfg.timeout_s is None
    env.setenv("SKILLRM_REWARD_BATCH_SIZE", "16")
    assert reward_config(backend="hf").backend.batch_size == 16


def test_bad_values_name_their_variable(env):
    env.setenv("SKILLRM_REWARD_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="SKILLRM_REWARD_TIMEOUT='soon'"):
        reward_config()
    env.delenv("SKILLRM_REWARD_TIMEOUT")
    with pytest.raises(ValueError, match=r"reward_kwargs.backend=.*unknown backend keys \['urls'\]"):
        reward_config(backend={"kind": "openai", "urls": ["x"]})
    with pytest.raises(ValueError, match="needs base_urls"):
        reward_config(backend="openai")


def test_compute_score_is_env_configured_and_built_once(env):
    info = {"split": "train", "index": 0, "question": QUESTION}
    right = compute_score("openai/gsm8k", RIGHT, "18", info)
    wrong = compute_score(data_source="openai/gsm8k", solution_str=WRONG, ground_truth="18", extra_info=info)
    assert isinstance(right, float) and right == pytest.approx(8 / 9) and wrong == pytest.approx(1 / 9)
    [shared] = shared_mod._SHARED.values()  # one judge for both calls
    assert shared.setting == SKILL_OPERATIONAL and shared.mode == "pointwise" and shared.total_stats["calls"] == 2
    assert shared.describe_backend() == "scripted:math_judge"


def test_compute_score_dict_batch_and_reward_kwargs(env):
    env.setenv("SKILLRM_REWARD_RETURN_DICT", "1")
    out = compute_score("gsm8k", RIGHT, 18, {"prompt": [{"role": "user", "content": QUESTION}]})
    assert out == {"score": pytest.approx(8 / 9), "judge_ok": 1.0, "judge_timeout": 0.0, "judge_tool_calls": 2.0}
    # reward_kwargs from custom_reward_function.reward_kwargs override the env; unknown keys are ignored
    batch = compute_score_batch(data_sources=["a", "b"], solution_strs=[RIGHT, WRONG], ground_truths=["18", "18"],
                                extra_infos=[{"question": QUESTION}, {"question": QUESTION}],
                                return_dict=False, num_examine=3)
    assert batch == [pytest.approx(8 / 9), pytest.approx(1 / 9)]
    assert len(shared_mod._SHARED) == 1  # return_dict does not make another judge
    # a ground truth mapping of resource fields becomes the sample's resources
    gt = {"reference": "18", "checklist": ["states the total"]}
    assert compute_score("x", RIGHT, gt, {"question": QUESTION}, return_dict=False) == pytest.approx(8 / 9)
    with pytest.raises(ValueError, match="extra_info"):
        compute_score("x", RIGHT, "18", {"index": 3})


def test_verl_loads_the_file_by_path_from_another_directory(tmp_path):
    """What verl's get_custom_reward_fn does: spec_from_file_location("custom_module", path), exec, getattr;
    run in a fresh interpreter whose cwd is not the repo and whose sys.path does not hold it."""
    script = textwrap.dedent(f"""
        import importlib.util, json, os, sys
        assert {str(REPO)!r} not in [os.path.abspath(p) for p in sys.path], sys.path
        spec = importlib.util.spec_from_file_location("custom_module", {str(VERL_FILE)!r})
        module = importlib.util.module_from_spec(spec)
        sys.modules["custom_module"] = module
        spec.loader.exec_module(module)
        fn = getattr(module, "compute_score")
        batch = getattr(module, "compute_score_batch")
        print(json.dumps([fn("openai/gsm8k", {RIGHT!r}, "18", {{"question": {QUESTION!r}}}),
                          fn("openai/gsm8k", {WRONG!r}, "18", {{"question": {QUESTION!r}}}),
                          batch(["a"], [{RIGHT!r}], ["18"], [{{"question": {QUESTION!r}}}])]))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SKILLRM_REWARD_")}
    env["SKILLRM_REWARD_BACKEND"] = "scripted:tests.test_reward:math_judge"
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    right, wrong, batch = json.loads(out.stdout.strip().splitlines()[-1])
    assert right == pytest.approx(8 / 9) and wrong == pytest.approx(1 / 9) and batch == [pytest.approx(8 / 9)]
