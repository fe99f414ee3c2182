#!/usr/bin/env bash
# Every GPU check of medhub in one go, for a machine with CUDA (CI has none): the CUDA tests, then the two
# GPU benchmarks of benchmarks/RESULTS.md. medhub must be installed (pip install -e .). Logs go to the
# folder given as the first argument (default gpu-logs/); the exit code is the tests'.
#
#     bash benchmarks/gpu_checks.sh [LOG_DIR]
set -uo pipefail
out=${1:-gpu-logs}
mkdir -p "$out"
python - <<'EOF' 2>&1 | tee "$out/device.log" || exit 1
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("gpu_checks: no CUDA device here")
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0), torch.cuda.device_count(), "GPU(s)")
EOF
export PYTHONUNBUFFERED=1
python -m pytest -q -rs tests/core/runner/test_gpu.py tests/core/parallel/test_model_parallel.py \
    tests/core/runner/test_batches.py 2>&1 | tee "$out/pytest.log"
tests=${PIPESTATUS[0]}
python benchmarks/gpu_unet3d.py 2>&1 | tee "$out/gpu_unet3d.log"
python benchmarks/gpu_unet3d.py --workers 0 2>&1 | tail -2 | tee "$out/gpu_unet3d_workers0.log"
python benchmarks/model_parallel.py 2>&1 | tee "$out/model_parallel.log"
exit "$tests"
