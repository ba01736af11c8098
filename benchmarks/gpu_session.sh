#!/usr/bin/env bash
# One GPU lease, prepared: the CUDA checks and GPU figures (gpu_check.py), then the
# paper panel (hicenv_agents.experiments.paper) until a deadline. Needs only the image's PyTorch:
# hicenv runs from the checkout, without Gymnasium, Optuna or SB3.
#   OUT=gpu-out bash benchmarks/gpu_session.sh [panel_seconds] [fashion_mnist_dir] [stored_results_dir]
# SKIP_CHECK=1 skips the checks (a second lease that only continues the panel);
# PANEL_ARGS adds arguments to the panel run (e.g. --proxy-candidates).
set -uo pipefail
export PYTHONUNBUFFERED=1
out=${OUT:-gpu-out}
deadline=${1:-220}
data=${2:-.gpu_data/fashion-mnist}
stored=${3:-studies/paper/results}
mkdir -p "$out/panel"
# hicenv from this checkout, without its dependencies (the image's PyTorch is enough).
# An image without setuptools cannot install it: then the import path points at the checkout.
if ! pip install -q --no-deps --no-build-isolation -e . 2>/dev/null; then
  pp=$(mktemp -d) && ln -s "$PWD/agents" "$pp/hicenv_agents" && export PYTHONPATH="$pp:$PWD"
fi
log="$out/log.txt"
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"
  nproc; } 2>&1 | tee -a "$log"
if [ "${SKIP_CHECK:-0}" != 1 ]; then
  timeout 220 python3 benchmarks/gpu_check.py --out "$out/gpu_check.json" 2>&1 | tee -a "$log"
fi
timeout $((deadline + 40)) python3 -m hicenv_agents.experiments.paper --out "$out/panel" --stored "$stored" --workers 4 \
  --device cuda --data-root "$data" --deadline "$deadline" ${PANEL_ARGS:-} 2>&1 | tee -a "$log"
date -u | tee -a "$log"
