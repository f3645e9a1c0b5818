#!/usr/bin/env bash
# The one command a GPU session runs, from the repository root of a bare device machine (torch and its image only):
#   benchmarks/gpu_check.sh                 # every GPU figure; gpu.json and gpu_check.log in $OUT, rewritten as each section ends
#   benchmarks/gpu_check.sh --dry-run       # the CPU rehearsal CI runs: every section on the tiny presets
# Carry `.whl/` (`make gpu-wheels` fills it here): the packages psd_clip needs that the device's image lacks. This script
# installs them into a folder of its own, puts the repository on the path, and runs benchmarks/gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
site=${DEVICE_LIKE_SITE:-${TMPDIR:-/tmp}/psd_clip_carried}
out=${OUT:-/tmp/gout}
mkdir -p "$out" "$site"
if compgen -G ".whl/*.whl" >/dev/null; then
  "$python" -m pip install -q --no-deps --no-index --upgrade --target "$site" .whl/*.whl
elif ! "$python" -c "import open_clip, webdataset, fastcore" 2>/dev/null; then
  echo "gpu_check.sh: .whl/ holds no wheels and open_clip, webdataset or fastcore is missing: run \`make gpu-wheels\` and carry .whl" >&2
  exit 2
fi
export PYTHONPATH="$PWD:$PWD/benchmarks:$site${PYTHONPATH:+:$PYTHONPATH}"
"$python" benchmarks/gpu_check.py "$@" 2>&1 | tee "$out/gpu_check.log"
