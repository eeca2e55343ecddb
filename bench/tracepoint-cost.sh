#!/usr/bin/env bash
# What a syscall tracepoint costs a loop of cheap ioctls (FIONREAD on a pipe), whatever the probe does:
# none; a probe on an unrelated syscall (execve: puts every syscall on the tracing path); a
# sys_enter_ioctl probe whose filter rejects every call. Interleaved repetitions, bpftrace alone.
# Usage (root): bash bench/tracepoint-cost.sh [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/storm" bench/storm.c
echo 'tracepoint:syscalls:sys_enter_execve { @x = 1; }' >"$tmp/unrelated.bt"
echo 'tracepoint:syscalls:sys_enter_ioctl /args->cmd == 12345/ { @x = 1; }' >"$tmp/ioctl-rejects-all.bt"
for _ in $(seq "$reps"); do
  for p in none unrelated ioctl-rejects-all; do
    if [ "$p" != none ]; then
      bpftrace "$tmp/$p.bt" >"$tmp/out" 2>&1 &
      bt=$!
      for _ in $(seq 100); do grep -q Attaching "$tmp/out" && break; sleep 0.1; done
      sleep 1
    fi
    echo "$p $("$tmp/storm" fionread 1000000 | cut -d' ' -f1) ioctls/s"
    if [ "$p" != none ]; then kill -INT "$bt"; wait "$bt" || true; fi
  done
done
