#!/usr/bin/env bash
# Runs the whole test suite in .venv (created and filled on first use). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh requirements-dev.txt
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled
exec python -m pytest --durations=25 "$@"
