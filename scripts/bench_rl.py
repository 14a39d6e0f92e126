"""GRPO step benchmark: rollout generated tokens/s, rollout / update / step time, as a markdown table.

Runs train.rl's own loop (tool-executing rollouts through the agent loop on the policy's weights, then
the GRPO update) for a few steps on a random-init model of a given shape and synthetic verifiable tasks.
A random model rarely stops early, so rollouts run to max_new_tokens: an upper bound on rollout work.

    python scripts/bench_rl.py --model-shape tiny --steps 2                               # CPU
    TORCH_CUDA_ARCH_LIST=9.0 python scripts/bench_rl.py --model-shape qwen2.5-0.5b --steps 3
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.protocol import SKILL_OPERATIONAL  # noqa: E402
from train.engine import prepare_accelerator_env  # noqa: E402

prepare_accelerator_env()

import torch  # noqa: E402

SHAPES = {
    "tiny": dict(model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                 tie_word_embeddings=True),
    "qwen2.5-0.5b": dict(model_type="qwen2", hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=1000000.0,
                         max_position_embeddings=32768, tie_word_embeddings=True),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-shape", choices=sorted(SHAPES), default="tiny")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--tasks-per-step", type=int, default=8)
    p.add_argument("--group-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--agent-steps", type=int, default=3)
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()

    from data.builders.synthetic import generate_synthetic
    from train.rl import RLConfig, train

    tasks = generate_synthetic(max(32, args.tasks_per_step * args.steps), seed=0,
                               kinds=("arithmetic", "constraints"))
    cuda = torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "rl.jsonl"
        data.write_text("".join(json.dumps({"task": t.to_dict(), "setting": SKILL_OPERATIONAL}) + "\n"
                                for t in tasks))
        cfg = RLConfig(model_config=dict(SHAPES[args.model_shape]), tokenizer="smollm2-135m", data_path=str(data),
                       output_dir=str(Path(tmp) / "run"), group_size=args.group_size,
                       tasks_per_step=args.tasks_per_step, max_steps=args.steps, micro_batch_size=8,
                       rollout_batch_size=args.tasks_per_step * args.group_size, lr=1e-6, warmup_steps=0,
                       precision="bf16" if cuda else "amp_bf16", wandb=False, save_final_model=False,
                       gradient_checkpointing=cuda)
        cfg.agent.prompt_style = "compact"
        cfg.agent.max_new_tokens = args.max_new_tokens
        cfg.agent.max_steps = args.agent_steps
        history = train(cfg)
    device = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"\nshape={args.model_shape} device={device} episodes/step={args.tasks_per_step * args.group_size} "
          f"max_new_tokens={args.max_new_tokens} agent_steps={args.agent_steps}\n")
    print("| step | rollout tokens/s | rollout s | update s | step s | response tokens/episode |")
    print("|---:|---:|---:|---:|---:|---:|")
    for h in history:
        print(f"| {h['step']} | {h['rollout_tokens_per_s']:.0f} | {h['rollout_s']:.1f} | {h['update_s']:.1f} | "
              f"{h['rollout_s'] + h['update_s']:.1f} | {h['response_tokens']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"shape": args.model_shape, "device": device, "steps": history}))


if __name__ == "__main__":
    main()
