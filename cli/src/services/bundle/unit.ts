/**
 * The files a sensor bundle installs besides its code: the systemd unit and the environment file's
 * template. The unit's limits are the ones the sensor was seen to run its probes under (see
 * docs/operations.md "Deploy to N hosts"): bpftrace needs CAP_BPF/CAP_PERFMON and, for kprobes on
 * the kernels in use, CAP_SYS_ADMIN; /proc of every process needs CAP_SYS_PTRACE and
 * CAP_DAC_READ_SEARCH; the pageout helper's process_madvise needs CAP_SYS_NICE; locked BPF maps need
 * CAP_SYS_RESOURCE; responses need CAP_KILL. Each Protect* setting here was tried one at a time
 * with the probes starting under it (docs/operations.md); a SystemCallFilter of @system-service plus
 * bpf and perf_event_open kept them from starting, so there is none. The spool lives in the
 * StateDirectory, writable under ProtectSystem=strict; an enrolled sensor keeps its credential in
 * DEFAULT_CREDS_DIR, left writable.
 */
import { DEFAULT_CREDS_DIR, ENROLL_TOKEN_ENV, ENROLL_URL_ENV } from '@vigil/schema';

export const SENSOR_UNIT = 'vigil-sensor.service';
export const INSTALL_ROOT = '/opt/vigil';
export const SENSOR_ENV_FILE = `${DEFAULT_CREDS_DIR}/sensor.env`;

export const CAPABILITIES = [
  'CAP_BPF',
  'CAP_PERFMON',
  'CAP_SYS_ADMIN',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_PTRACE',
  'CAP_SYS_NICE',
  'CAP_KILL',
  'CAP_DAC_READ_SEARCH',
  'CAP_DAC_OVERRIDE',
] as const;

export function sensorUnit(): string {
  return `[Unit]
Description=Vigil runtime-security sensor (bpftrace probes -> NATS)
Documentation=https://github.com/vigil/vigil/blob/main/docs/operations.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
EnvironmentFile=${SENSOR_ENV_FILE}
Environment=VIGIL_LOG_FORMAT=json
Environment=VIGIL_DATA_DIR=/var/lib/vigil
ExecStart=${INSTALL_ROOT}/current/bin/vigil sensor
Restart=always
RestartSec=2
KillSignal=SIGINT
TimeoutStopSec=30
StateDirectory=vigil
RuntimeDirectory=vigil
CapabilityBoundingSet=${CAPABILITIES.join(' ')}
AmbientCapabilities=${CAPABILITIES.join(' ')}
NoNewPrivileges=yes
ProtectHome=read-only
ProtectSystem=strict
ReadWritePaths=-${DEFAULT_CREDS_DIR}
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
PrivateTmp=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
LockPersonality=yes
LimitMEMLOCK=infinity

[Install]
WantedBy=multi-user.target
`;
}

/** /etc/vigil/sensor.env.example: every variable the sensor reads from the unit's environment. */
export function sensorEnvExample(): string {
  return `# /etc/vigil/sensor.env: the sensor's settings (root-only: chmod 600). \`vigil deploy\` writes it.
# Either enrol at the first start (the sensor keeps its credentials in /etc/vigil/sensor.creds, and
# connects to the NATS URLs the enrollment answers) ...
#${ENROLL_URL_ENV}=https://vigil.example:8080
#${ENROLL_TOKEN_ENV}=
# ... or static NATS credentials (small installs), with where the control plane's NATS listens.
#VIGIL_NATS=nats://nats.example:4222
#VIGIL_NATS_USER=sensor
#VIGIL_NATS_PASSWORD=
#VIGIL_NATS_CREDS=/etc/vigil/sensor.creds
`;
}
