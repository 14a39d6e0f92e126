"""Model spec resolution (every form the backends and trainers accept) and the optional vllm backend's
error when the package is absent. No weights are loaded: folders are written by the test."""
import importlib.util
import json

import pytest

from model.backends import BackendConfig, make_backend
from model.loading import resolve_spec


def test_local_folder_lora_folder_and_gguf_file(tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    (local / "config.json").write_text("{}")
    lora = tmp_path / "lora"
    lora.mkdir()
    (lora / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(local)}))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    r = resolve_spec(str(local))
    assert (r.kind, r.path) == ("local", str(local))
    r = resolve_spec(str(lora))
    assert (r.kind, r.base) == ("lora", str(local))
    assert r.tokenizer_source == str(local)  # an adapter without its own tokenizer uses the base's
    r = resolve_spec(str(gguf))
    assert (r.kind, r.path, r.gguf_file) == ("gguf", str(tmp_path), "m.gguf")


def test_hub_ids_and_missing_paths(tmp_path):
    assert resolve_spec("Qwen/Qwen3-8B").kind == "hub"
    with pytest.raises(FileNotFoundError, match="not found"):
        resolve_spec(str(tmp_path / "nope"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="neither config.json nor adapter_config.json"):
        resolve_spec(str(empty))
    with pytest.raises(ValueError, match="empty"):
        resolve_spec("")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_backend_without_vllm_is_a_clear_error():
    with pytest.raises(ImportError, match="needs the vllm package"):
        make_backend("smollm2-135m", BackendConfig(kind="vllm"))
