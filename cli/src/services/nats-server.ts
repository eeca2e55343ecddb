import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { ConnectionOptions } from 'nats';
import { SupervisedChild, type ChildReport } from './child-supervisor.js';
import { JetStreamWatch, type JetStreamReport } from './jetstream-watch.js';
import { withParentDeathSignal } from './signals.js';
import { writeAtomic } from './local-secrets.js';
import { urlHost } from '@vigil/schema';

export class NatsServerError extends Error {
  override name = 'NatsServerError';
}

/** The nats-server's pid, kept beside its store: how a later start finds one an earlier run left. */
export const NATS_PID_FILE = 'nats-server.pid';

export type NatsServerReport = ChildReport & JetStreamReport;

export interface LocalNats {
  url: string;
  /** The process and its JetStream as seen from here (status: `controlPlane.supervised.natsServer`). */
  report: () => NatsServerReport;
  stop: () => Promise<void>;
}

const portOpen = (port: number, host = '127.0.0.1') =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `pid` runs (a zombie, waiting for a parent that never reaps it, holds no port). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Stops the nats-server an earlier run on this store left running (killed before it could stop it).
 * Only a process whose command line is nats-server on this very store dir: a pid reused since by
 * another program is left alone.
 */
async function stopLeftover(pidFile: string, storeDir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  let argv: string[] = [];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    /* gone */
  }
  const ours =
    Number.isInteger(pid) &&
    pid > 1 &&
    basename(argv[0] ?? '') === 'nats-server' &&
    argv[argv.indexOf('-sd') + 1] === storeDir;
  if (ours && alive(pid)) {
    log.warn(
      { 'nats.pid': pid, 'nats.store': storeDir },
      'stopping the nats-server an earlier vigil up left running on this data directory',
    );
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
  }
  rmSync(pidFile, { force: true });
}

/**
 * Starts nats-server with JetStream on loopback, its store under `dataDir`, and keeps it running: it
 * dies with this process (see withParentDeathSignal), one an earlier run left on this store is stopped
 * first, an exit is followed by a restart (with backoff), and so is JetStream found disabled (a full
 * disk turns it off and nothing turns it on again) by the checks `health` connects for (its
 * credentials; none: no checks). `configFile` brings its authorization; `env` adds to its environment.
 */
export async function startLocalNats(opts: {
  dataDir: string;
  port: number;
  /** The address it listens on (default 127.0.0.1). */
  host?: string;
  /** How this host's parts connect when it serves TLS (see tls-settings.ts). */
  tls?: ConnectionOptions['tls'];
  binary?: string;
  configFile?: string;
  env?: Record<string, string>;
  health?: ConnectionOptions;
  log: Logger;
}): Promise<LocalNats> {
  const storeDir = join(opts.dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const pidFile = join(opts.dataDir, NATS_PID_FILE);
  await stopLeftover(pidFile, storeDir, opts.log);
  const listen = opts.host ?? '127.0.0.1';
  const connectHost = urlHost(listen).replace(/^\[|\]$/g, '');
  if (await portOpen(opts.port, connectHost)) {
    throw new NatsServerError(
      `port ${opts.port} is already in use (another nats-server? pass --nats URL to use it, or --nats-port)`,
    );
  }
  const args = [
    '-js',
    '-sd',
    storeDir,
    '-a',
    listen,
    '-p',
    String(opts.port),
    ...(opts.configFile ? ['-c', opts.configFile] : []),
  ];
  const child = natsChild({ ...opts, connectHost }, args, pidFile);
  // SIGKILL after 5 s: with JetStream disabled by a full disk, nats-server has ignored SIGTERM for minutes.
  const server = new SupervisedChild({
    name: 'nats-server',
    spawn: child.spawn,
    ready: child.ready,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 5000,
    log: opts.log,
  });
  try {
    await server.start();
  } catch (err) {
    rmSync(pidFile, { force: true });
    const msg = (err as Error).message;
    throw new NatsServerError(
      /cannot run/.test(msg) ? `${msg} (apt-get install nats-server)` : `${msg}: ${child.lastError()}`,
      { cause: err },
    );
  }
  const url = `nats://${urlHost(listen)}:${opts.port}`;
  opts.log.info({ 'nats.port': opts.port, 'nats.pid': server.pid, 'nats.store': storeDir }, 'nats-server started');
  const watch = opts.health
    ? new JetStreamWatch({
        nats: { servers: url, ...opts.health, ...(opts.tls ? { tls: opts.tls } : {}) },
        log: opts.log,
        onDisabled: () => server.restart('JetStream is disabled (a full disk turns it off)'),
      })
    : null;
  await watch?.start();
  return {
    url,
    report: () => ({
      ...server.report(),
      ...(watch?.report() ?? { jetstream: 'unchecked', jetstreamCheckedAt: null, jetstreamOutages: 0 }),
    }),
    stop: async () => {
      await watch?.stop();
      await server.stop();
      rmSync(pidFile, { force: true });
    },
  };
}

/**
 * How one nats-server process is spawned (own process group, dies with this one, its pid recorded)
 * and when it is ready (its port open), with the last line it wrote to stderr for the errors.
 */
function natsChild(
  opts: { port: number; connectHost: string; binary?: string; env?: Record<string, string> },
  args: string[],
  pidFile: string,
): { spawn: () => ChildProcess; ready: (child: ChildProcess) => Promise<void>; lastError: () => string } {
  let stderr = '';
  const lastError = () => stderr.trim().split('\n').pop() ?? '';
  const spawnOne = (): ChildProcess => {
    const cmd = withParentDeathSignal(opts.binary ?? 'nats-server', args);
    const child = spawn(cmd.command, cmd.args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
      // Own process group: Ctrl-C reaches `vigil up` only, which stops nats-server last, after the
      // sensor and control plane have drained their connections.
      detached: true,
    });
    stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    if (child.pid) writeAtomic(pidFile, `${child.pid}\n`, 0o600, null);
    return child;
  };
  const ready = async (child: ChildProcess) => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new NatsServerError(`nats-server exited with code ${child.exitCode}: ${lastError()}`);
      if (await portOpen(opts.port, opts.connectHost)) return;
      await sleep(50);
    }
    throw new NatsServerError(`nats-server did not listen on port ${opts.port} within 15 s`);
  };
  return { spawn: spawnOne, ready, lastError };
}
