#!/usr/bin/env bash
# Installs what Vigil needs and is missing on this host, then builds. Idempotent; run by `npm start`
# and `npm test` (which passes --test). System packages come from Debian (root needed to install them).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bpftrace >/dev/null 2>&1 || missing+=(bpftrace)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v mount >/dev/null 2>&1 || missing+=(mount)
# With --test: the tools the end-to-end attack scenarios run for real.
if [ "${1:-}" = "--test" ]; then
  command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
  command -v autossh >/dev/null 2>&1 || missing+=(autossh)
  command -v socat >/dev/null 2>&1 || missing+=(socat)
  command -v ncat >/dev/null 2>&1 || missing+=(ncat)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # The behaviour corpus (test/corpus): interpreters' one-liners, downloads, git over ssh.
  command -v perl >/dev/null 2>&1 || missing+=(perl)
  command -v ruby >/dev/null 2>&1 || missing+=(ruby)
  command -v php >/dev/null 2>&1 || missing+=(php-cli)
  command -v wget >/dev/null 2>&1 || missing+=(wget)
  command -v crontab >/dev/null 2>&1 || missing+=(cron)
  command -v git >/dev/null 2>&1 || missing+=(git)
  # The syslog output's receiver (test/integration/outputs-syslog.test.ts).
  command -v rsyslogd >/dev/null 2>&1 || missing+=(rsyslog)
  # Test hosts for `vigil deploy` (test/support/nspawn-host.ts): a debootstrapped root booted by nspawn.
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
  # The web console's browser tests (test/e2e/console.test.ts) drive Debian's chromium.
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
# With --bench: the classic alternative the overhead benchmark compares against.
if [ "${1:-}" = "--bench" ]; then
  command -v auditctl >/dev/null 2>&1 || missing+=(auditd)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "vigil: missing ${missing[*]}; run as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "vigil: installing ${missing[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Dependencies: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "vigil: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "vigil: building" >&2
npm run build --silent

# The sensor's one native helper (see sensor/native/pageout.c), rebuilt when its source changes.
helper=sensor/build/vigil-pageout
if [ ! -x "$helper" ] || [ sensor/native/pageout.c -nt "$helper" ]; then
  mkdir -p sensor/build
  cc -O2 -Wall -Wextra -o "$helper" sensor/native/pageout.c
fi
