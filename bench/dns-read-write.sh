#!/usr/bin/env bash
# What the dns probe costs a process that is not doing DNS: a million 1-byte reads and writes
# (dd bs=1) under no tracing and under probes/dns.bt alone, interleaved. The probe has programs on
# read and write entry and read exit for every process; each looks up the fd in its map and returns.
# Usage (root): bash bench/dns-read-write.sh [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t() { /usr/bin/time -f %e dd if=/dev/zero of=/dev/null bs=1 count=1000000 2>&1 | tail -1; }
for _ in $(seq "$reps"); do
  echo "none $(t) s"
  BPFTRACE_STRLEN=200 bpftrace -f json <(cat probes/prelude.bt probes/dns.bt) >"$tmp/out" 2>&1 &
  bt=$!
  for _ in $(seq 100); do grep -q Attaching "$tmp/out" && break; sleep 0.2; done
  sleep 1
  echo "dns $(t) s"
  kill -INT "$bt"; wait "$bt" || true
done
