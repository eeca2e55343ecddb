/**
 * The shell each deploy step runs on a target (POSIX sh, as root). Values in them are checked
 * (versions) or base64-encoded (the environment file), never pasted raw.
 */
import { DEFAULT_CREDS_DIR, SENSOR_CREDS_FILE } from '@vigil/schema';
import { INSTALL_ROOT, SENSOR_ENV_FILE, SENSOR_UNIT } from '../bundle/unit.js';
import { SENSOR_CA_FILE, SENSOR_CLIENT_CERT_FILE, SENSOR_CLIENT_KEY_FILE, type HostFile } from './credentials.js';
import { ENROLLMENT_FILE } from '../sensor-enroll.js';

const UNIT_PATH = `/etc/systemd/system/${SENSOR_UNIT}`;
export const DEPS_MISSING_EXIT = 3;

export const probeScript = `set -eu
[ "$(id -u)" = 0 ] || { echo "log in as root (ssh User root), not $(id -un)" >&2; exit 1; }
echo "arch=$(uname -m)"
echo "hostname=$(hostname)"
`;

export const depsScript = (install: boolean): string => `set -eu
if ! command -v bpftrace >/dev/null 2>&1; then
  if [ ${install ? 1 : 0} = 1 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends bpftrace >&2
  else
    echo "bpftrace is missing (--install-deps installs it with apt-get)" >&2; exit ${DEPS_MISSING_EXIT}
  fi
fi
[ -r /sys/kernel/btf/vmlinux ] || { echo "the kernel has no BTF (/sys/kernel/btf/vmlinux)" >&2; exit ${DEPS_MISSING_EXIT}; }
command -v systemctl >/dev/null 2>&1 || { echo "no systemd (systemctl)" >&2; exit ${DEPS_MISSING_EXIT}; }
bpftrace --version
`;

export const INCOMING = `${INSTALL_ROOT}/.incoming.tar.gz`;
export const copyCommand = `umask 022 && mkdir -p ${INSTALL_ROOT} && cat > ${INCOMING}`;

/**
 * Unpacks the bundle into <root>/<version>, points `current` at it and `previous` at what `current`
 * was, and removes every other version: the one before stays for a rollback.
 */
export const unpackScript = (version: string): string => `set -eu
cd ${INSTALL_ROOT}
v='${version}'
rm -rf "$v.new" && mkdir "$v.new"
tar -xzf .incoming.tar.gz -C "$v.new" --strip-components=1 --no-same-owner
rm -f .incoming.tar.gz
prev=$(readlink current 2>/dev/null || true)
if [ -e "$v" ]; then rm -rf "$v.old" && mv "$v" "$v.old"; fi
mv "$v.new" "$v"
ln -sfn "$v" current.tmp && mv -T current.tmp current
if [ -n "$prev" ] && [ "$prev" != "$v" ]; then ln -sfn "$prev" previous.tmp && mv -T previous.tmp previous; fi
keep=$(readlink previous 2>/dev/null || true)
for d in *; do
  case "$d" in current|previous|"$v"|"$keep") ;; *) rm -rf "$d" ;; esac
done
"$v/bin/vigil" version --api http://127.0.0.1:9 --json >/dev/null
`;

/** Writes the environment file root-only (its content base64-encoded, so no byte of it is shell). */
/** Writes sensor.env (0600) and, where given, the control plane's CA beside it (0644: a certificate is public). */
/** Writes sensor.env (root only) and `files` beside it, each through a temporary file and a rename. */
export const envScript = (content: string, files: HostFile[] = []): string => `set -eu
umask 077
mkdir -p ${DEFAULT_CREDS_DIR}
${[{ path: SENSOR_ENV_FILE, content, mode: 0o600 }, ...files]
  .map(
    (f) => `printf '%s' '${Buffer.from(f.content).toString('base64')}' | base64 -d > ${f.path}.tmp
chmod ${f.mode.toString(8)} ${f.path}.tmp
mv ${f.path}.tmp ${f.path}
`,
  )
  .join('')}`;

export const serviceScript = `set -eu
install -m 0644 ${INSTALL_ROOT}/current/systemd/${SENSOR_UNIT} ${UNIT_PATH}
systemctl daemon-reload
systemctl enable ${SENSOR_UNIT} >/dev/null 2>&1
systemctl restart ${SENSOR_UNIT}
systemctl is-active ${SENSOR_UNIT}
`;

export const uninstallScript = `set -eu
systemctl disable --now ${SENSOR_UNIT} >/dev/null 2>&1 || true
rm -f ${UNIT_PATH}
systemctl daemon-reload
systemctl reset-failed ${SENSOR_UNIT} >/dev/null 2>&1 || true
rm -rf ${INSTALL_ROOT} /var/lib/vigil
rm -f ${SENSOR_ENV_FILE} ${SENSOR_ENV_FILE}.tmp ${DEFAULT_CREDS_DIR}/${SENSOR_CREDS_FILE} ${DEFAULT_CREDS_DIR}/${ENROLLMENT_FILE} ${SENSOR_CA_FILE} ${SENSOR_CLIENT_CERT_FILE} ${SENSOR_CLIENT_KEY_FILE}
rmdir ${DEFAULT_CREDS_DIR} 2>/dev/null || true
echo removed
`;
