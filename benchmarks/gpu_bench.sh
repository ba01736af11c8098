#!/usr/bin/env bash
# One GPU lease for HIC-Bench, prepared: the ladder's full-2ep rung (seeds 0 and 1 on the
# ladder's 24 points: what only a GPU affords) first, then whatever of the plan is not yet
# stored, until a deadline. Needs only the image's PyTorch and numpy: the task list is
# written beforehand where scipy is installed, and hicenv runs from this checkout.
#
# Before the lease, here (the list must come from the code the lease runs):
#   mkdir -p .gpu_data && cp -r <fashion-mnist folder> .gpu_data/fashion-mnist
#   hicenv bench tasks --gpu-rung --data-root .gpu_data/fashion-mnist --out .gpu_data/bench-tasks.json
# On the lease (the device tool: carry .gpu_data; allow the deadline plus a minute):
#   OUT=gpu-out bash benchmarks/gpu_bench.sh [deadline_seconds=480] [workers=4]
# After: copy gpu-out/results/*.jsonl into studies/bench/results/ and commit them; runs
# already in studies/bench/results are skipped, runs cut by the deadline rerun next time.
# Sizing (H200, the paper panel's runs on one: full-2ep 24 s, a proxy-sized run 5 s): the
# 48 full-2ep runs take 5-10 minutes with 4 workers sharing the GPU; the rest continues the plan.
set -uo pipefail
export PYTHONUNBUFFERED=1
out=${OUT:-gpu-out}
deadline=${1:-480}
workers=${2:-4}
data=.gpu_data/fashion-mnist
list=.gpu_data/bench-tasks.json
for f in "$data/train-images-idx3-ubyte.gz" "$list"; do
  [ -e "$f" ] || { echo "gpu_bench.sh: $f is missing (see the header of this script)" >&2; exit 2; }
done
mkdir -p "$out/results"
# hicenv from this checkout, without its dependencies (the image's PyTorch is enough).
if ! pip install -q --no-deps --no-build-isolation -e . 2>/dev/null; then
  pp=$(mktemp -d) && ln -s "$PWD/agents" "$pp/hicenv_agents" && export PYTHONPATH="$pp:$PWD"
fi
log="$out/log.txt"
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"; } 2>&1 | tee -a "$log"
timeout $((deadline + 40)) python3 -m hicenv_agents.experiments.bench run --tasks-file "$list" \
  --out "$out/results" --stored studies/bench/results --data-root "$data" --workers "$workers" \
  --device cuda --deadline "$deadline" 2>&1 | tee -a "$log"
date -u | tee -a "$log"
