"""train.precision: the choice per device (injected hardware facts), the warning for a slow explicit
bf16 autocast, and how the choice reaches train.sft's log, saved config, checkpoint state and DeepSpeed."""
from __future__ import annotations

import json
import time

import pytest
import torch

from model.config import REPO_ROOT, load_config
from train import precision as P
from train.config import SFTConfig
from train.precision import Hardware, MatmulTiming, choose

FAST = MatmulTiming(fp32_ms=2.0, bf16_ms=0.6)  # AVX512-BF16-like: 3.3x faster
SLOW = MatmulTiming(fp32_ms=0.5, bf16_ms=16.0)  # AVX2 emulation: 32x slower


def cpu(matmul, native=False, name="AVX2, cpuinfo: no avx512_bf16/amx_bf16"):
    return Hardware("cpu", name, native, matmul)


def test_auto_on_gpus_follows_native_bf16():
    h100 = choose("auto", Hardware("cuda", "NVIDIA H100 (sm_90)", True))
    v100 = choose("auto", Hardware("cuda", "Tesla V100 (sm_70)", False))
    assert (h100.precision, v100.precision) == ("bf16", "fp32")
    assert "H100" in h100.reason and "no native bf16" in v100.reason
    assert h100.warning is None and v100.warning is None


def test_auto_on_cpu_is_decided_by_the_measured_matmul():
    fast = choose("auto", cpu(FAST, native=True, name="AVX512, cpuinfo: avx512_bf16"))
    slow = choose("auto", cpu(SLOW))
    assert fast.precision == "amp_bf16" and "3.3x faster" in fast.reason and "AVX512" in fast.reason
    assert slow.precision == "fp32" and "32x slower" in slow.reason and "AVX2" in slow.reason
    assert fast.summary() == f"auto -> amp_bf16 ({fast.reason})"
    # the flags are the reason, not the decision: a CPU reporting avx512_bf16 but measuring slow stays fp32
    assert choose("auto", cpu(SLOW, native=True)).precision == "fp32"


def test_auto_needs_a_clear_win_on_cpu():
    just_below = MatmulTiming(fp32_ms=P.AMP_MIN_SPEEDUP * 0.99, bf16_ms=1.0)
    at = MatmulTiming(fp32_ms=P.AMP_MIN_SPEEDUP, bf16_ms=1.0)
    assert choose("auto", cpu(just_below)).precision == "fp32"
    assert choose("auto", cpu(at)).precision == "amp_bf16"
    assert choose("auto", cpu(None)).precision == "fp32"


def test_explicit_amp_bf16_on_a_slow_cpu_warns_with_the_measured_slowdown():
    c = choose("amp_bf16", cpu(SLOW))
    assert c.precision == "amp_bf16"  # an explicit setting is kept...
    assert c.warning and "32x slower than fp32" in c.warning and "AVX2" in c.warning  # ...with the cost named
    assert choose("amp_bf16", cpu(FAST)).warning is None
    assert choose("fp32", cpu(SLOW)).warning is None


def test_explicit_settings_are_kept_and_bf16_weights_need_a_gpu():
    assert choose("fp32", cpu(FAST)).precision == "fp32"
    assert choose("amp_bf16", Hardware("cuda", "A100 (sm_80)", True)).precision == "amp_bf16"
    assert "no native bf16" in choose("bf16", Hardware("cuda", "V100 (sm_70)", False)).warning
    with pytest.raises(ValueError, match="needs a GPU"):
        choose("bf16", cpu(FAST))


def test_fp32_never_runs_the_probe(monkeypatch):
    def boom():
        raise AssertionError("probed")

    monkeypatch.setattr(P, "probe_cpu_matmul", boom)
    if not torch.cuda.is_available():
        assert P.detect_hardware("fp32").matmul is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU probe")
def test_the_probe_measures_both_dtypes_and_restores_the_thread_count():
    threads = torch.get_num_threads()
    P.probe_cpu_matmul.cache_clear()
    t0 = time.perf_counter()
    m = P.probe_cpu_matmul()
    assert time.perf_counter() - t0 < 5
    assert m.fp32_ms > 0 and m.bf16_ms > 0 and torch.get_num_threads() == threads
    assert P.probe_cpu_matmul() is m  # once per process
    kind = P.cpu_kind()
    assert kind.startswith(torch.backends.cpu.get_cpu_capability()) and "cpuinfo:" in kind


def test_ds_config_gets_the_resolved_precision_only():
    from train.engine import build_ds_config

    cfg = SFTConfig(model="x", global_batch_size=2, micro_batch_size=1)
    ds = build_ds_config(cfg, 1, "amp_bf16", 64)
    assert ds["torch_autocast"] == {"enabled": True, "dtype": "bfloat16"} and not ds["bf16"]["enabled"]
    assert "torch_autocast" not in build_ds_config(cfg, 1, "fp32", 64)
    with pytest.raises(ValueError, match="resolved precision"):
        build_ds_config(cfg, 1, "auto", 64)


# ---------------------------------------------------------------------------------------- train.sft

TINY = REPO_ROOT / "configs" / "train" / "sft_tiny.yaml"


def record_eval(model, tokenizer, step, cfg):
    return {"saw_amp_bf16": cfg.precision == "amp_bf16"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from train.synthetic import synthetic_rows, write

    rows = synthetic_rows(16, 2048, eot_id=2, seed=0, mean_len=60, min_len=20, max_len=200)
    return write(rows, tmp_path_factory.mktemp("data") / "sft")


def run_tiny(out, data_dir, *overrides):
    from train.sft import fit, setup

    cfg = load_config(SFTConfig, TINY, [f"output_dir={out}", f"data_path={data_dir}", "wandb=false",
                                        "max_steps=1", "save_final_model=false", *overrides])
    return fit(setup(cfg))


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path")
def test_sft_logs_and_saves_requested_and_resolved_precision(tmp_path, data_dir, monkeypatch, capsys):
    monkeypatch.setattr(P, "probe_cpu_matmul", lambda: FAST)
    run_tiny(tmp_path, data_dir, "precision=auto", "eval_every=1", "eval_hook=tests.test_train_precision:record_eval")
    assert "[sft] precision: auto -> amp_bf16 (cpu " in capsys.readouterr().out
    text = (tmp_path / "config.yaml").read_text()
    assert "precision: auto  # resolved: amp_bf16 (cpu " in text and "3.3x faster" in text
    assert load_config(SFTConfig, tmp_path / "config.yaml").precision == "auto"  # still a loadable config
    state = json.loads((tmp_path / "checkpoint-1" / "trainer_state.json").read_text())
    assert (state["precision"], state["precision_requested"]) == ("amp_bf16", "auto")
    assert "3.3x faster" in state["precision_reason"]
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["eval/saw_amp_bf16"] for r in rows if "eval/saw_amp_bf16" in r] == [True]  # the hook autocasts too


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path")
def test_sft_warns_on_explicit_amp_bf16_where_bf16_is_slow(tmp_path, data_dir, monkeypatch):
    monkeypatch.setattr(P, "probe_cpu_matmul", lambda: SLOW)
    with pytest.warns(UserWarning, match=r"32x slower than fp32"):
        history = run_tiny(tmp_path, data_dir, "precision=amp_bf16")
    assert len(history) == 1
    assert "precision: amp_bf16  # resolved: amp_bf16" in (tmp_path / "config.yaml").read_text()
