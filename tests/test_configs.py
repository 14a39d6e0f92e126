"""Every YAML under configs/ names its schema (`_schema: module.Class`) and loads into it with no
unknown key; the config system's errors name the file and the key."""
import importlib

import pytest
import yaml

from model.config import REPO_ROOT, ConfigError, load_config

CONFIGS = sorted((REPO_ROOT / "configs").rglob("*.yaml"))


def schema_of(path):
    name = yaml.safe_load(path.read_text())["_schema"]
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(module), cls)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_config_loads_into_its_schema(path, tmp_path):
    cfg = load_config(schema_of(path), path, [f"output_dir={tmp_path}"])
    assert cfg.output_dir == str(tmp_path)


def test_unknown_keys_are_errors_naming_file_and_key(tmp_path):
    from data.config import DataConfig

    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\nteacher:\n  kindd: scripted\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*teacher.kindd"):
        load_config(DataConfig, bad)
    with pytest.raises(ConfigError, match="render.nope"):
        load_config(DataConfig, None, ["render.nope=1"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(DataConfig, None, ["seed"])
