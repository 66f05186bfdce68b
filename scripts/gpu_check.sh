#!/usr/bin/env bash
# The GPU check (issue #14): device tests, benchmark and paper-scale recoveries on one NVIDIA GPU, under
# 10 minutes. Run from anywhere, in the environment README.md installs; results go to results/gpu_check/.
# Without CUDA it stops at once with exit status 2. Extra arguments go to `python -m lrl_utils.gpu_check`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m lrl_utils.gpu_check "$@"
