"""Every train YAML loads into its schema; every DeepSpeed JSON fills all of its "auto" values."""
from __future__ import annotations

import json

import pytest

from model.config import REPO_ROOT, ConfigError, load_config
from train.config import ModelSettings, OptimSettings, SFTConfig, grad_accum_steps, validate
from train.engine import build_ds_config, lr_lambda, zero_stage

TRAIN_CONFIGS = sorted((REPO_ROOT / "configs" / "train").glob("*.yaml"))
DS_CONFIGS = sorted((REPO_ROOT / "configs" / "deepspeed").glob("*.json"))


def test_the_expected_configs_exist():
    names = {p.stem for p in TRAIN_CONFIGS}
    assert {"sft_quickstart", "sft_tiny", "sft_qwen3_8b_zero3_8gpu", "sft_lora_1gpu"} <= names
    assert {"zero2", "zero3", "zero3_offload"} <= {p.stem for p in DS_CONFIGS}


def schema_of(path):
    """The dataclass a YAML declares with `_schema: module.Class` (SFTConfig by default)."""
    import importlib

    import yaml

    name = (yaml.safe_load(path.read_text()) or {}).get("_schema", "train.config.SFTConfig")
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(module), cls)


@pytest.mark.parametrize("path", TRAIN_CONFIGS, ids=lambda p: p.stem)
def test_train_config_loads_and_validates(path, tmp_path):
    from train.rl import RLConfig, validate_rl

    schema = schema_of(path)
    assert schema in (SFTConfig, RLConfig)
    cfg = load_config(schema, path, [f"output_dir={tmp_path}"])
    (validate if schema is SFTConfig else validate_rl)(cfg)
    assert cfg.output_dir == str(tmp_path) and cfg.data_path
    assert (REPO_ROOT / "configs" / "deepspeed" / f"{cfg.deepspeed}.json").exists()
    ds = build_ds_config(cfg, world_size=cfg.global_batch_size // cfg.micro_batch_size, precision="bf16",
                         hidden_size=4096)
    assert "auto" not in json.dumps(ds)


@pytest.mark.parametrize("path", DS_CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("world", [1, 2, 8])
def test_deepspeed_config_autos_are_filled(path, world):
    cfg = SFTConfig(model="x", deepspeed=path.stem, global_batch_size=16, micro_batch_size=2, max_grad_norm=0.5)
    ds = build_ds_config(cfg, world_size=world, precision="fp32", hidden_size=64)
    assert "auto" not in json.dumps(ds)
    assert ds["train_batch_size"] == 16 and ds["gradient_accumulation_steps"] == 16 // (2 * world)
    assert ds["gradient_clipping"] == 0.5 and ds["bf16"]["enabled"] is False
    assert zero_stage(ds) in (2, 3)
    from train.engine import prepare_accelerator_env

    prepare_accelerator_env()
    from deepspeed.runtime.zero.config import DeepSpeedZeroConfig

    DeepSpeedZeroConfig(**ds["zero_optimization"])  # pydantic, extra keys forbidden: catches typos


def test_unknown_keys_and_bad_values_are_errors(tmp_path):
    tiny = REPO_ROOT / "configs" / "train" / "sft_tiny.yaml"
    with pytest.raises(ConfigError, match="no_such_key"):
        load_config(SFTConfig, tiny, ["no_such_key=1"])
    with pytest.raises(ValueError, match="overlong"):
        validate(load_config(SFTConfig, tiny, ["overlong=cut"]))
    with pytest.raises(ValueError, match="exactly one"):
        validate(load_config(SFTConfig, tiny, ["model=smollm2-135m"]))
    with pytest.raises(ValueError, match="not divisible"):
        grad_accum_steps(SFTConfig(global_batch_size=8, micro_batch_size=3), 1)


def test_schedule_warmup_then_cosine():
    f = lr_lambda(total_steps=100, warmup_steps=10, min_lr_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(55) == pytest.approx(0.55) and f(100) == pytest.approx(0.1)


def test_sft_and_rl_share_blocks_not_a_hierarchy():
    """RLConfig is composed of the blocks SFT also uses; SFT's data knobs are not RL keys."""
    from train.rl import RLConfig

    assert not issubclass(RLConfig, SFTConfig)
    assert issubclass(RLConfig, ModelSettings) and issubclass(RLConfig, OptimSettings)
    rl_yaml = REPO_ROOT / "configs" / "train" / "rl_quickstart.yaml"
    cfg = load_config(RLConfig, rl_yaml, ["lr=2e-5", "lora.r=8", "reward.both_orders=true"])
    assert (cfg.lr, cfg.lora.r, cfg.reward.both_orders) == (2e-5, 8, True)
    for sft_only in ("packing=false", "overlong=drop", "epochs=2", "eval_hook=a:b"):
        with pytest.raises(ConfigError, match=sft_only.split("=")[0]):
            load_config(RLConfig, rl_yaml, [sft_only])
    assert SFTConfig().output_dir != RLConfig().output_dir


def test_overlong_rows_are_dropped_by_default():
    """Truncation would cut a trajectory's verdict off its end: dropping is the default."""
    assert SFTConfig().overlong == "drop"
    tiny = REPO_ROOT / "configs" / "train" / "sft_tiny.yaml"
    assert load_config(SFTConfig, tiny).overlong == "drop"
    assert load_config(SFTConfig, tiny, ["overlong=truncate"]).overlong == "truncate"


def test_eval_setting_defaults_to_the_data_protocol(tmp_path):
    from model.protocol import BASELINE, SKILL_OPERATIONAL, JudgeProtocol

    data = tmp_path / "sft_direct"
    data.mkdir()
    base = dict(model="x", data_path=str(data), heldout_path=str(tmp_path / "heldout.jsonl"))
    cfg = SFTConfig(**base)
    validate(cfg)
    assert cfg.eval_setting == SKILL_OPERATIONAL          # no protocol: the protocol default
    JudgeProtocol(settings=[BASELINE]).save(data)
    cfg = SFTConfig(**base)
    validate(cfg)
    assert cfg.eval_setting == BASELINE                   # the setting the data was rendered in
    with pytest.raises(ValueError, match="unknown setting"):
        validate(SFTConfig(**base, eval_setting="skill_typo"))


@pytest.mark.parametrize("override, field", [("ppo_epochs=0", "ppo_epochs"), ("log_rollouts=-2", "log_rollouts")])
def test_rl_config_rejects_bad_values_naming_the_field(override, field):
    from train.rl import RLConfig, validate_rl

    cfg = load_config(RLConfig, REPO_ROOT / "configs" / "train" / "rl_gain.yaml", [override])
    with pytest.raises(ValueError, match=field):
        validate_rl(cfg)
