"""Two CPU ranks under the deepspeed launcher with ZeRO-3: the saved weights are the gathered ones."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model.config import REPO_ROOT
from train.synthetic import synthetic_rows, write

pytestmark = pytest.mark.slow


def launcher_env() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE")}
    env.update(DS_ACCELERATOR="cpu", WANDB_MODE="disabled", PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    return env


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_rank_zero3_saves_gathered_weights(tmp_path):
    from safetensors.torch import load_file

    from train.export import main as export_main

    data = write(synthetic_rows(32, 2048, eot_id=2, seed=0, mean_len=60, min_len=20, max_len=200), tmp_path / "d")
    out = tmp_path / "run"
    deepspeed = Path(sys.executable).parent / "deepspeed"
    cmd = [str(deepspeed), "--num_gpus", "2", "--master_port", str(free_port()), "--module", "train.sft",
           "--config", str(REPO_ROOT / "configs/train/sft_tiny.yaml"), "deepspeed=zero3", f"output_dir={out}",
           f"data_path={data}", "max_steps=3", "wandb=false", "eval_every=3",
           "eval_hook=tests.test_train_sft:fake_eval"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=launcher_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "world=2" in proc.stdout and "zero=3" in proc.stdout
    ckpt = out / "checkpoint-3"
    assert {p.name for p in ckpt.glob("zero_pp_rank_*_mp_rank_00_model_states.pt")} == {
        "zero_pp_rank_0_mp_rank_00_model_states.pt", "zero_pp_rank_1_mp_rank_00_model_states.pt"}
    assert json.loads((ckpt / "trainer_state.json").read_text())["world_size"] == 2
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "eval/judge_acc" in r] == [3]  # the hook ran on a gathered copy

    # final_model/ was written from parameters gathered with GatheredParameters at the end of training;
    # the export consolidates the ZeRO-3 partitions of the checkpoint: both must agree, and be full.
    gathered = load_file(out / "final_model" / "model.safetensors")
    assert export_main(["--checkpoint", str(out), "--output", str(tmp_path / "exp"), "--skills", "none"]) == 0
    exported = load_file(tmp_path / "exp" / "model.safetensors")
    cfg = json.loads((tmp_path / "exp" / "config.json").read_text())
    assert exported["model.embed_tokens.weight"].shape == (cfg["vocab_size"], cfg["hidden_size"])
    assert exported.keys() == gathered.keys()
    for k, v in gathered.items():
        assert v.numel() > 0 and torch.equal(exported[k], v), k
    assert any(v.abs().sum() > 0 for k, v in exported.items() if "proj" in k)
