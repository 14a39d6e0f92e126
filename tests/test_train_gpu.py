"""GPU tier (skipped without CUDA): bf16 + Liger + ZeRO-2/3 on the tiny model, packed attention under the
Liger kernels, and a bf16 export that generates on the GPU."""
from __future__ import annotations

import importlib.util

import pytest
import torch

from model.config import REPO_ROOT, load_config
from train.config import SFTConfig
from train.synthetic import synthetic_rows, write

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]
HAS_LIGER = importlib.util.find_spec("liger_kernel") is not None
TINY = REPO_ROOT / "configs" / "train" / "sft_tiny.yaml"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write(synthetic_rows(48, 2048, eot_id=2, seed=0, mean_len=60, min_len=20, max_len=200),
                 tmp_path_factory.mktemp("data") / "sft", fmt="jsonl")


def run_sft(out, data_dir, *overrides):
    from train.sft import fit, setup

    cfg = load_config(SFTConfig, TINY, [f"output_dir={out}", f"data_path={data_dir}", "wandb=false",
                                        "precision=bf16", *overrides])
    return fit(setup(cfg))


@pytest.mark.parametrize("stage", ["zero2", "zero3"])
def test_bf16_training_on_gpu(tmp_path, data_dir, stage):
    liger = "true" if HAS_LIGER else "false"
    h = run_sft(tmp_path / stage, data_dir, f"deepspeed={stage}", f"liger={liger}", "max_steps=6", "lr=1e-2")
    ls = [r["loss"] for r in h]
    assert ls[-1] < ls[0] - 0.2, ls
    assert h[-1]["mfu"] is not None and h[-1]["peak_mem_gib"] > 0
    from safetensors.torch import load_file

    final = load_file(tmp_path / stage / "final_model" / "model.safetensors")
    assert all(v.numel() > 0 for v in final.values())


def test_bf16_export_generates_on_gpu(tmp_path, data_dir):
    from transformers import AutoModelForCausalLM

    from train.export import export

    run_sft(tmp_path / "r", data_dir, "max_steps=2", "liger=false")
    out = export(tmp_path / "r", tmp_path / "x", skills=["none"])
    model = AutoModelForCausalLM.from_pretrained(out, dtype="auto").cuda()
    assert model.dtype == torch.bfloat16
    gen = model.generate(torch.tensor([[100, 101, 102]], device="cuda"), max_new_tokens=4, do_sample=False)
    assert gen.shape == (1, 7)


@pytest.mark.skipif(not HAS_LIGER, reason="liger-kernel not installed")
def test_packed_equals_unpacked_with_liger_kernels():
    from transformers import AutoConfig, AutoModelForCausalLM

    from tests.test_train_packing import make_data
    from train.attention import forward_kwargs
    from train.data import collate
    from train.loss import CausalLMLoss
    from train.modeling import apply_liger

    assert apply_liger("llama")
    cfg = AutoConfig.for_model("llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                               num_attention_heads=4, num_key_value_heads=2, vocab_size=128)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa", dtype=torch.float32).cuda().eval()
    data = make_data([7, 12, 5, 9])
    dev = torch.device("cuda")
    fused = CausalLMLoss(model, fused_ce=True)
    plain = CausalLMLoss(model, fused_ce=False)
    with torch.no_grad():
        packed = collate(data, [[0, 1, 2, 3]], pad_id=0, packed=True)
        padded = collate(data, [[0], [1], [2], [3]], pad_id=0, packed=False)
        a = fused(labels=packed["labels"].cuda(), **forward_kwargs(packed, "position_ids", torch.float32, dev))
        b = plain(labels=padded["labels"].cuda(), **forward_kwargs(padded, None, torch.float32, dev))
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-3)
