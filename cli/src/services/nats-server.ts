import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';

export class NatsServerError extends Error {
  override name = 'NatsServerError';
}

export interface LocalNats {
  url: string;
  stop: () => Promise<void>;
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

/**
 * Starts nats-server with JetStream on loopback, its store under `dataDir`; waits until it listens.
 * `configFile` brings its authorization; `env` adds to the environment its variables are read from.
 */
export async function startLocalNats(opts: { dataDir: string; port: number; binary?: string; configFile?: string; env?: Record<string, string>; log: Logger }): Promise<LocalNats> {
  const storeDir = join(opts.dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  if (await portOpen(opts.port)) {
    throw new NatsServerError(`port ${opts.port} is already in use (another nats-server? pass --nats URL to use it, or --nats-port)`);
  }
  const args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(opts.port), ...(opts.configFile ? ['-c', opts.configFile] : [])];
  const child: ChildProcess = spawn(opts.binary ?? 'nats-server', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    // Own process group: Ctrl-C reaches `vigil up` only, which stops nats-server last, after the
    // sensor and control plane have drained their connections.
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new NatsServerError(`cannot run nats-server: ${e.message} (apt-get install nats-server)`, { cause: e }))));
  const deadline = Date.now() + 15_000;
  const ready = (async () => {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new NatsServerError(`nats-server exited with code ${child.exitCode}: ${stderr.trim().split('\n').pop()}`);
      if (await portOpen(opts.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new NatsServerError(`nats-server did not listen on port ${opts.port} within 15 s`);
  })();
  try {
    await Promise.race([ready, spawnError]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  opts.log.info({ 'nats.port': opts.port, 'nats.pid': child.pid, 'nats.store': storeDir }, 'nats-server started');
  return {
    url: `nats://127.0.0.1:${opts.port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    },
  };
}
