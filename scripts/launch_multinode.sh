#!/usr/bin/env bash
# Multi-node SFT: the same entrypoint as on one process (python -m train.sft), started on every node of
# a DeepSpeed hostfile by the deepspeed launcher (pdsh/ssh).
#
#   HOSTFILE=scripts/hostfile bash scripts/launch_multinode.sh CONFIG [key=value ...] [--resume]
#
# Environment: HOSTFILE (default scripts/hostfile, see scripts/hostfile.example), MASTER_ADDR (default:
# the first host), MASTER_PORT (default 29500), NUM_NODES / NUM_GPUS (default: all of the hostfile).
# Without ssh between nodes (e.g. SLURM), run on each node instead:
#   torchrun --nnodes $NNODES --node_rank $NODE_RANK --nproc_per_node 8 \
#            --rdzv_backend c10d --rdzv_endpoint $MASTER_ADDR:29500 -m train.sft --config CONFIG ...
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  sed -n '2,13p' "$0"; exit 2
fi
config="$1"; shift
hostfile="${HOSTFILE:-scripts/hostfile}"
if [ ! -f "$hostfile" ]; then
  echo "hostfile $hostfile not found (copy scripts/hostfile.example)" >&2; exit 2
fi
master="${MASTER_ADDR:-$(grep -v '^\s*#' "$hostfile" | awk 'NF {print $1; exit}')}"
port="${MASTER_PORT:-29500}"
python="${PYTHON:-$PWD/.venv/bin/python}"
extra=()
[ -n "${NUM_NODES:-}" ] && extra+=(--num_nodes "$NUM_NODES")
[ -n "${NUM_GPUS:-}" ] && extra+=(--num_gpus "$NUM_GPUS")
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m deepspeed.launcher.runner --hostfile "$hostfile" --master_addr "$master" --master_port "$port" \
  "${extra[@]}" --module train.sft --config "$config" "$@"
