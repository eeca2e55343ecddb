#!/usr/bin/env bash
# Re-records probes/fixtures/*.ndjson from the real probes on this kernel (root, bpftrace); with probe
# names as arguments, only theirs (scripts/record-fixtures.sh exec).
# Each probe runs while a workload does what the fixture should hold; its raw output is kept as is.
set -euo pipefail
cd "$(dirname "$0")/.."
out=probes/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
only="$*"

record() { # name, workload function, bpftrace args...
  local name=$1 work=$2; shift 2
  # A probe runs alone as the sensor runs it: after the prelude (ready and wake records).
  cat probes/prelude.bt "probes/$name.bt" >"$tmp/$name.bt"
  BPFTRACE_STRLEN=200 BPFTRACE_MAP_KEYS_MAX=16384 bpftrace -f json "$tmp/$name.bt" "$@" >"$tmp/$name.raw" 2>"$tmp/$name.err" &
  local bt=$!
  for _ in $(seq 100); do grep -q '"data": \[0,' "$tmp/$name.raw" 2>/dev/null && break; sleep 0.1; done
  "$work"
  sleep 2.5
  kill -INT "$bt"; wait "$bt" || true
}

exec_work() {
  /bin/true 'quote"d' "it's" '{"kind":"connect","forged":true}' $'line1\nline2' $'tab\there' $'\x01\x1b[31m' \
    $'\xff\xfe bad utf8' 'café ☕' "$(printf 'A%.0s' $(seq 1 300))"
  /bin/true $(seq 1 40)
  /nonexistent/vigil-fixture-binary 2>/dev/null || true
  # stdio: a pipe (the writer's fd 1 and the reader's fd 0 share an inode), /dev/null and a file,
  # and fds 0-1 on a loopback TCP connection (argv[0] names the listener's port).
  /bin/echo vigil-fixture-pipe | /bin/cat >"$tmp/stdio.out" 2>/dev/null
  /usr/bin/python3 - <<'PY'
import socket, subprocess
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    l = socket.socket(fam); l.bind((host, 0)); l.listen()
    port = l.getsockname()[1]
    c = socket.create_connection((host, port))
    subprocess.run([f"vigil-peer-{port}", "0"], executable="/bin/sleep", stdin=c, stdout=c, stderr=subprocess.DEVNULL)
PY
}
# Flushes that printed no map are left out (end-of-flush records alone), so the fixture stays reviewable.
drop_empty_flushes() { # record type of the end-of-flush record
  awk -v t="$1" '/"type": "map"/ { n++ } { if ($0 ~ "\"data\": \\[" t ",") { if (n > 0) print; n = 0 } else print }'
}
want exec && record exec exec_work 50
want exec && python3 scripts/fixture-workload.py $$ <"$tmp/exec.raw" | drop_empty_flushes 5 >"$out/exec.ndjson"

proc_work() { bash -c 'sleep 0.05 & wait; (exit 3); sh -c "kill -9 \$\$"; true'; }
want proc && record proc proc_work 50
want proc && drop_empty_flushes 12 <"$tmp/proc.raw" >"$out/proc.ndjson"

connect_work() {
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64); port = s.getsockname()[1]
for _ in range(20):
    c = socket.create_connection(("127.0.0.1", port)); c.close()
for host in ("::1", "::ffff:127.0.0.1"):
    c = socket.socket(socket.AF_INET6); c.settimeout(0.2)
    try: c.connect((host, 9))
    except OSError: pass
PY
}
want connect && record connect connect_work 1
want connect && grep -E 'attached_probes|"data": \[0,|"python3"|@connect_' "$tmp/connect.raw" >"$out/connect.ndjson"

want gpu && { rm -f "$tmp/nvidiactl"; mknod "$tmp/nvidiactl" c 1 7; }
want gpu && cc -O2 -o "$tmp/nv-ioctl" test/support/nv-ioctl.c
gpu_work() { "$tmp/nv-ioctl" "$tmp/nvidiactl" 50; }
want gpu && record gpu gpu_work 1 4096 4096 4096 4096 $(( (1 << 20) | 7 )) 0 0 0
want gpu && grep -E 'attached_probes|"data": \[0,|"nv-ioctl"|@gpu_' "$tmp/gpu.raw" >"$out/gpu.ndjson"
# DNS: a tiny responder on 127.0.0.1:53 (test/support/dns-responder.py) answers glibc's getent (connect +
# sendto, and sendmmsg for Python's A+AAAA getaddrinfo, + recvfrom, through a resolv.conf bound over /etc/resolv.conf in a mount namespace),
# and a musl-style sendto with the address carries a hostile name (a dot and a NUL inside labels).
dns_work() {
  python3 test/support/dns-responder.py & local resp=$!
  for _ in $(seq 50); do ss -Hlun 'sport = :53' | grep -q 127.0.0.1 && break; sleep 0.1; done
  printf 'nameserver 127.0.0.1\n' >"$tmp/resolv.conf"
  unshare -m sh -c "mount --bind $tmp/resolv.conf /etc/resolv.conf && getent hosts db.vigil.test && getent ahostsv4 db.vigil.test && python3 -c 'import socket; print(socket.getaddrinfo(\"db.vigil.test\", 80, type=socket.SOCK_STREAM))'" || true
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1); s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03a.b\x03c\x00d\x04evil\x00\x00\x01\x00\x01", ("127.0.0.1", 53)); s.recv(512)' || true
  kill "$resp" 2>/dev/null || true; wait "$resp" 2>/dev/null || true
}
want dns && record dns dns_work
want dns && grep -E 'attached_probes|"data": \[(0|4[0-3]),' "$tmp/dns.raw" >"$out/dns.ndjson"
# TCP: a listener on 127.0.0.1 and one on ::1, 20 connections to each (accepted, closed by the client),
# so each event is printed once and its repeats come in a window.
tcp_work() {
  python3 - <<'PY'
import socket, time
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    s = socket.socket(fam); s.bind((host, 0)); s.listen(64); port = s.getsockname()[1]
    for _ in range(20):
        c = socket.create_connection((host, port)); a, _ = s.accept(); time.sleep(0.002); c.close(); a.close()
    s.close()
PY
}
want tcp && record tcp tcp_work 1
want tcp && grep -E 'attached_probes|"data": \[0,|"python3"|"data": \[51,|@tcp_' "$tmp/tcp.raw" >"$out/tcp.ndjson"
wc -l "$out"/*.ndjson
