#!/usr/bin/env bash
# GPU check for ddviz (issue 16), under 5 minutes on a bare machine with Python 3.10+ and a GPU.
#
#   bash benchmarks/device_check.sh            # from the repository root
#
# 1. Python packages: torch must already be a CUDA build (a GPU image's, or `pip install torch`
#    where the machine is online); the small pure-Python dependencies of the evaluation path are
#    installed with pip if missing (from $WHEELS with --no-index when set, for offline machines).
# 2. The CUDA tests (tests/test_cuda.py: CUDA = CPU, grouped = reference on CUDA, float16
#    autocast keeps rel L1 within 1e-4) and the speed tests.
# 3. The throughput benchmark on CUDA (float32 and float16 autocast): points/s and the fraction
#    of the GPU's float32 matmul rate (TF32 off).
# Prints one summary line last: "device_check: <gpu> tests=<pytest result> fp32 ... fp16 ...".
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
log=$(mktemp -d)/device_check
mkdir -p "$log"

need=()
for mod in numpy scipy xarray h5netcdf h5py ase safetensors pydantic tqdm yaml pytest; do
  $PY -c "import $mod" 2>/dev/null || need+=("$mod")
done
if ((${#need[@]})); then
  pkgs=("${need[@]/yaml/pyyaml}")
  if [[ -n "${WHEELS:-}" ]]; then
    $PY -m pip install -q --no-index --find-links "$WHEELS" "${pkgs[@]}"
  else
    $PY -m pip install -q "${pkgs[@]}"
  fi
fi
gpu=$($PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; print(torch.cuda.get_device_name(0).replace(' ', '_'))") \
  || { echo "device_check: FAILED no CUDA torch ($($PY -c 'import torch; print(torch.__version__)' 2>&1 | tail -1))"; exit 1; }

timeout 150 $PY -m pytest -q -p no:cacheprovider -o addopts="" tests/test_cuda.py \
  tests/test_speed.py > "$log/tests.txt" 2>&1
tests=$(tail -1 "$log/tests.txt" | tr ' ' '_')
timeout 60 $PY benchmarks/roofline.py --device cuda --repeats 3 > "$log/fp32.txt" 2>&1
timeout 60 $PY benchmarks/roofline.py --device cuda --repeats 3 --autocast float16 \
  > "$log/fp16.txt" 2>&1
summary() {  # points/s and fraction from a roofline run's JSON line
  tail -1 "$1" | $PY -c "import json,sys
try:
    r = json.loads(sys.stdin.read()); print(f\"{r['points_per_s']:.3g}pts/s,fraction={r['fraction']}\")
except Exception:
    print('failed')"
}
change=$(grep -o "change [-+0-9.e]*" "$log/fp16.txt" | tr ' ' '=')
echo "device_check: $gpu tests=$tests fp32=$(summary "$log/fp32.txt") fp16=$(summary "$log/fp16.txt"),rel_l1_${change:-change=?} (logs in $log)"
