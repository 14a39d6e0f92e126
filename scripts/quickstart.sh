#!/usr/bin/env bash
# The main job, end to end, on the embedded default model (SmolLM2-135M-Instruct) and a CPU:
#   1. set-up (.venv, requirements) if missing
#   2. data.generate + data.render: verifiable tasks, skill trajectories, direct-judge data (same tasks)
#   3. train.sft twice on identical tasks, labels and inputs: skill-SFT (skill_fair + skill_operational
#      trajectories) and direct-judge SFT (the same judgments as verdicts, from the same inputs)
#   4. (QUICKSTART_RL=1) train.rl: GRPO from the skill-SFT checkpoint
#   5. eval.run on held-out pairs, the 2x2 grid {direct, skill} x {fair, operational inputs}: the base
#      model in all four settings, each SFT judge in the settings it was trained on
#   6. OUT/report.md, OUT/metrics.json, OUT/quickstart.png; the table is printed last
# Every stage is one CLI with its config under configs/; run any of them alone with the same flags.
# QUICKSTART_OUT (default outputs/quickstart) moves the outputs; QUICKSTART_TOY=1 runs it at toy size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh requirements.txt
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE="${WANDB_MODE:-offline}" PYTHONUNBUFFERED=1

OUT="${QUICKSTART_OUT:-outputs/quickstart}"
DATA=(--config configs/data/quickstart.yaml "output_dir=$OUT/data")
SFT=(--config configs/train/sft_quickstart.yaml)
EVAL=(--config configs/eval/quickstart.yaml)
if [ "$OUT" != outputs/quickstart ]; then  # the config's held-out path is outputs/quickstart/data/heldout.jsonl
  EVAL+=("benchmarks=[{name: generic, path: $OUT/data/heldout.jsonl, label: heldout}]")
fi
if [ "${QUICKSTART_TOY:-0}" = "1" ]; then  # the same wiring at toy size (tests/test_quickstart.py)
  DATA+=("sources=[{kind: synthetic, n: 24}, {kind: synthetic, n: 4, options: {families: unseen}, heldout_only: true}]"
         "decontam.enabled=false")
  SFT=(--config configs/train/sft_tiny.yaml "model_config.vocab_size=49152" "max_seq_len=1024")
  EVAL+=("limit=3" "agent.max_new_tokens=8" "agent.max_steps=2")
fi
mkdir -p "$OUT"
: > "$OUT/timings.tsv"
stage() {  # stage NAME CMD...: runs and times one stage
  local name=$1 t0=$SECONDS
  shift
  echo "=== $name: $*"
  "$@"
  printf '%s\t%s\n' "$name" "$((SECONDS - t0))" >> "$OUT/timings.tsv"
  echo "=== $name done in $((SECONDS - t0)) s"
}

stage data.generate python -m data.generate "${DATA[@]}"
stage data.render python -m data.render "${DATA[@]}"
stage sft.skill python -m train.sft "${SFT[@]}" "data_path=$OUT/data/sft_skill" "output_dir=$OUT/sft_skill"
stage sft.direct python -m train.sft "${SFT[@]}" "data_path=$OUT/data/sft_direct" "output_dir=$OUT/sft_direct"
if [ "${QUICKSTART_RL:-0}" = "1" ]; then
  stage rl python -m train.rl --config configs/train/rl_quickstart.yaml "model=$OUT/sft_skill/final_model" \
    "data_path=$OUT/data/rl.jsonl" "heldout_path=$OUT/data/heldout.jsonl" "output_dir=$OUT/rl"
fi
stage eval.base python -m eval.run "${EVAL[@]}" model=smollm2-135m model_label=base \
  "settings=[baseline,baseline_operational,skill_fair,skill_operational]" "output_dir=$OUT/eval/base"
stage eval.direct_sft python -m eval.run "${EVAL[@]}" "model=$OUT/sft_direct/final_model" model_label=direct-sft \
  "output_dir=$OUT/eval/direct_sft"
stage eval.skill_sft python -m eval.run "${EVAL[@]}" "model=$OUT/sft_skill/final_model" model_label=skill-sft \
  "output_dir=$OUT/eval/skill_sft"
if [ "${QUICKSTART_RL:-0}" = "1" ]; then
  stage eval.skill_rl python -m eval.run "${EVAL[@]}" "model=$OUT/rl/final_model" model_label=skill-rl \
    "output_dir=$OUT/eval/skill_rl"
fi
echo "=== stage times (s):"; cat "$OUT/timings.tsv"
python scripts/quickstart_report.py "$OUT"
