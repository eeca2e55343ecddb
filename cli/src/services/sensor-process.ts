import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { SupervisedChild, type ChildReport } from './child-supervisor.js';
import { withParentDeathSignal } from './signals.js';
import type { SensorSettings } from './configs.js';

/** What the sensor process tells `vigil up` over its IPC channel once its probes are attached. */
export const SENSOR_READY_MESSAGE = 'vigil-sensor-ready';

const CLI_ENTRY = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

/** How the sensor process reaches NATS: secrets go in its environment (root-only /proc/PID/environ), never in argv. */
export interface SensorNatsAuth {
  user?: string;
  pass?: string;
  token?: string;
  creds?: string;
  nkey?: string;
  inboxPrefix?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The --nats-* flags each field comes from. */
const AUTH_FLAGS = {
  user: 'nats-user',
  pass: 'nats-pass',
  token: 'nats-token',
  creds: 'nats-creds',
  nkey: 'nats-nkey',
  inboxPrefix: 'nats-inbox-prefix',
  tlsCa: 'nats-tls-ca',
  tlsCert: 'nats-tls-cert',
  tlsKey: 'nats-tls-key',
} as const satisfies Record<keyof SensorNatsAuth, string>;

/** `vigil up`'s NATS flags (for --nats) as the sensor process is given them. */
export function sensorNatsAuth(
  flags: { [K in (typeof AUTH_FLAGS)[keyof typeof AUTH_FLAGS]]?: string | undefined },
): SensorNatsAuth {
  const out: SensorNatsAuth = {};
  for (const [field, flag] of Object.entries(AUTH_FLAGS) as [keyof SensorNatsAuth, keyof typeof flags][]) {
    const v = flags[flag];
    if (v !== undefined) out[field] = v;
  }
  return out;
}

export interface SensorProcessOptions extends SensorSettings {
  natsUrl: string;
  auth: SensorNatsAuth;
  hostId: string;
  spoolDir: string;
  /** The control plane's public response key file (response orders), and the processes never to kill. */
  responseKeyFile?: string;
  protectedPids?: () => number[];
  log: Logger;
}

export interface SensorProcess {
  report: () => ChildReport;
  stop: () => Promise<void>;
}

/** `vigil sensor`'s argv for these options: no secret among them. */
export function sensorArgs(o: SensorProcessOptions): string[] {
  return [
    'sensor',
    '--nats',
    o.natsUrl,
    '--host-id',
    o.hostId,
    '--spool-dir',
    o.spoolDir,
    '--window-seconds',
    String(o.windowSeconds),
    ...(o.spoolMaxBytes ? ['--spool-max-mb', String(Math.max(1, Math.round(o.spoolMaxBytes / 1024 / 1024)))] : []),
    ...o.gpuDevices.flatMap((d) => ['--gpu-device', d]),
    ...(o.probes ?? []).flatMap((p) => ['--probe', p]),
    ...(o.separateProbes ? ['--separate-probes'] : []),
    ...(o.ancestryDepth !== undefined ? ['--ancestry-depth', String(o.ancestryDepth)] : []),
    ...(o.responseKeyFile ? ['--response-key', o.responseKeyFile] : []),
    ...(o.protectedPids?.() ?? []).flatMap((pid) => ['--protect-pid', String(pid)]),
    ...(o.auth.tlsCa ? ['--nats-tls-ca', o.auth.tlsCa] : []),
    ...(o.auth.tlsCert ? ['--nats-tls-cert', o.auth.tlsCert] : []),
    ...(o.auth.tlsKey ? ['--nats-tls-key', o.auth.tlsKey] : []),
  ];
}

/**
 * The sensor's environment: this one's, without the API token (the sensor has no use for it) and
 * without any NATS credential but those given here.
 */
export function sensorEnv(auth: SensorNatsAuth): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('VIGIL_NATS') && k !== 'VIGIL_API_TOKEN') env[k] = v;
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) env[k] = v;
  };
  set('VIGIL_NATS_USER', auth.user);
  set('VIGIL_NATS_PASSWORD', auth.pass);
  set('VIGIL_NATS_TOKEN', auth.token);
  set('VIGIL_NATS_CREDS', auth.creds);
  set('VIGIL_NATS_NKEY', auth.nkey);
  set('VIGIL_NATS_INBOX_PREFIX', auth.inboxPrefix);
  return env;
}

/**
 * The sensor as its own process (`vigil sensor`), as on a training host: its event loop, heap and GC
 * are its own, not shared with the control plane and the embedded database (an alert storm there
 * cost it execs). Its logs go where these go; it dies with this process; it is started again when
 * it exits; stop() ends it first, before the control plane and nats-server.
 */
export async function startSensorProcess(o: SensorProcessOptions): Promise<SensorProcess> {
  const spawnOne = (): ChildProcess => {
    const cmd = withParentDeathSignal(process.execPath, [...process.execArgv, CLI_ENTRY, ...sensorArgs(o)]);
    return spawn(cmd.command, cmd.args, {
      env: sensorEnv(o.auth),
      // The IPC channel says "ready", and its end tells the sensor that `vigil up` is gone.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Own process group: a terminal's Ctrl-C reaches `vigil up`, which stops the sensor first.
      detached: true,
    });
  };
  const ready = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      const on = (m: unknown) => {
        if (m === SENSOR_READY_MESSAGE) {
          child.off('message', on);
          resolve();
        }
      };
      child.on('message', on);
    });
  // 12 s: within the 15 s a stop step is given (schema's runSteps), so SIGKILL comes from here.
  const sensor = new SupervisedChild({
    name: 'sensor',
    spawn: spawnOne,
    ready,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 12_000,
    log: o.log,
  });
  await sensor.start();
  o.log.info({ 'sensor.pid': sensor.pid }, 'sensor process started');
  return { report: () => sensor.report(), stop: () => sensor.stop() };
}
