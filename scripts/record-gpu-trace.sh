#!/usr/bin/env bash
# Records probes/fixtures/gpu-<name>.ndjson on a real GPU host: probes/gpu.bt runs, with the driver
# majors read from /proc/devices as the sensor reads them, while scripts/cuda-job.py (PyTorch) creates
# a CUDA context, trains and churns allocations. Root and bpftrace needed; BPFTRACE overrides the binary.
# Then `VIGIL_UPDATE_FIXTURES=1 npm test` rewrites the decoded trace (gpu-<name>.events.json) beside it.
# Usage: scripts/record-gpu-trace.sh h100
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: record-gpu-trace.sh NAME}
bt=${BPFTRACE:-bpftrace}
out=probes/fixtures/gpu-$name.ndjson
major() { awk -v n="$1" '/^Character/ { c = 1; next } /^Block/ { c = 0 } c && $2 == n { print $1; exit }' /proc/devices; }
nv=$(major nvidia-frontend); nv=${nv:-$(major nvidia)}
uvm=$(major nvidia-uvm); kfd=$(major kfd); drm=$(major drm)
tmp=$(mktemp)
script=$(mktemp --suffix=.bt)
trap 'rm -f "$tmp" "$script"' EXIT
# The probe runs as the sensor runs it alone: after the prelude (ready and wake records).
cat probes/prelude.bt probes/gpu.bt >"$script"
"$bt" -f json "$script" 1 "${nv:-4096}" "${uvm:-4096}" "${kfd:-4096}" "${drm:-4096}" 0 0 0 0 >"$tmp" &
pid=$!
for _ in $(seq 600); do grep -q '"data": \[0,' "$tmp" && break; sleep 0.1; done
python3 scripts/cuda-job.py 3 trace
sleep 1.5
kill -INT "$pid"; wait "$pid" || true
grep -v '^\s*$' "$tmp" >"$out"
echo "$out: $(wc -l <"$out") lines"
