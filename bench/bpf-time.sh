#!/usr/bin/env bash
# Kernel time of the exec and proc probes' BPF programs per fork+exec cycle (kernel.bpf_stats_enabled:
# run_time_ns of every program over a storm, divided by the execs). Deterministic where storm rates on
# this 2-core VM move by ±5% from one run to the next. Each PROBES_DIR (default: probes) is measured
# in turn, in one run, so a change to the probes can be set beside the previous version's files.
# Usage (root, bpftool): bash bench/bpf-time.sh [EXECS] [PROBES_DIR...]
set -euo pipefail
cd "$(dirname "$0")/.."
execs=${1:-5000}
shift || true
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(probes)
command -v bpftool >/dev/null || { echo "bpf-time: bpftool is needed (apt-get install bpftool)" >&2; exit 2; }
tmp=$(mktemp -d)
was=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled="$was"; pkill -INT -f "$tmp/" 2>/dev/null || true; rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/storm" bench/storm.c
sysctl -qw kernel.bpf_stats_enabled=1
for d in "${dirs[@]}"; do
  for p in exec proc; do
    # Probes that leave BEGIN to probes/prelude.bt run after it, as the sensor runs them alone.
    { grep -q '^BEGIN' "$d/$p.bt" || cat probes/prelude.bt; cat "$d/$p.bt"; } >"$tmp/$p.bt"
    BPFTRACE_STRLEN=200 BPFTRACE_MAP_KEYS_MAX=16384 bpftrace -f json "$tmp/$p.bt" 50 >"$tmp/$p.out" 2>&1 &
    bt=$!
    for _ in $(seq 300); do grep -q '"data": \[0,' "$tmp/$p.out" && break; sleep 0.1; done
    # Only this bpftrace's programs (it holds an fd to each): another tracer's on a shared host are not counted.
    cat /proc/$bt/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' >"$tmp/mine.txt"
    "$tmp/storm" exec 1000 >/dev/null
    bpftool prog show -j >"$tmp/before.json"
    "$tmp/storm" exec "$execs" >/dev/null
    bpftool prog show -j >"$tmp/after.json"
    pkill -INT -f "$tmp/$p.bt"; while pgrep -f "$tmp/$p.bt" >/dev/null; do sleep 0.1; done
    DIR=$d PROBE=$p EXECS=$execs node -e '
      const fs = require("fs");
      const mine = new Set(fs.readFileSync(process.argv[3], "utf8").split("\n").filter(Boolean).map(Number));
      const before = new Map(JSON.parse(fs.readFileSync(process.argv[1], "utf8")).filter((p) => mine.has(p.id)).map((p) => [p.id, p]));
      let ns = 0, programs = 0;
      for (const p of JSON.parse(fs.readFileSync(process.argv[2], "utf8"))) {
        const b = before.get(p.id);
        if (!b || p.run_cnt === undefined || p.run_cnt === b.run_cnt) continue;
        ns += p.run_time_ns - b.run_time_ns; programs++;
      }
      console.log(`${process.env.DIR}\t${process.env.PROBE}.bt\t${programs} programs ran\t${(ns / Number(process.env.EXECS) / 1000).toFixed(2)} µs per exec cycle`);
    ' "$tmp/before.json" "$tmp/after.json" "$tmp/mine.txt"
  done
done
