import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection, NatsError } from 'nats';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO, 'cli', 'bin', 'run.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** A folder for one test file, removed when its process exits (node:test runs each file in its own). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * The API token of the control planes this test process starts through the CLI (`vigil up`,
 * `vigil control-plane`), and that its `vigil …` calls send, as a user with VIGIL_API_TOKEN set.
 * A test that wants another (or none: `VIGIL_API_TOKEN: undefined`) passes its own `env`.
 */
export const API_TOKEN = randomBytes(32).toString('hex');
export const authHeaders = { authorization: `Bearer ${API_TOKEN}` };

type Env = Record<string, string | undefined>;
const cliEnv = (env: Env, api?: string): Env => ({
  ...process.env,
  ...(api ? { VIGIL_API: api } : {}),
  VIGIL_API_TOKEN: API_TOKEN,
  ...env,
});

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `vigil …` as a user would, against the given API. */
export function vigil(api: string, args: string[], env: Env = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: cliEnv(env, api),
    encoding: 'utf8',
    timeout: 60_000,
    // Thousands of alerts with their ancestry as JSON are megabytes.
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like vigil(), without blocking this process (needed when the API runs in it). */
export function vigilAsync(api: string, args: string[], env: Env = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env, api) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

export function vigilJson<T>(api: string, args: string[]): T {
  const r = vigil(api, [...args, '--json']);
  if (r.status !== 0)
    throw new Error(`vigil ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout || '').slice(0, 4000)}`);
  return JSON.parse(r.stdout) as T;
}

/** Starts a long-running `vigil <command>`; logs go to `logs`. */
export function startVigil(
  args: string[],
  env: Env = {},
): { child: ChildProcess; logs: string[]; stop: () => Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(env) });
  const logs: string[] = [];
  child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * Subscribes on `nc`, and says whether the server refused it for want of permission: the server
 * answers the SUB before the flush's PONG, so no waiting is involved.
 */
export async function subscriptionRefused(nc: NatsConnection, subject: string): Promise<boolean> {
  let refused: NatsError | null = null;
  nc.subscribe(subject, {
    callback: (err) => {
      if (err) refused = err;
    },
  });
  await nc.flush();
  return (refused as NatsError | null)?.code === 'PERMISSIONS_VIOLATION';
}

export interface VigilUp {
  api: string;
  up: ReturnType<typeof startVigil>;
}

/**
 * `vigil up` on free loopback ports with its data under `dataDir`, as host `host`, waited for until
 * the sensor reports the probes asked for (`--probe` flags in `args`, else every probe it runs) as
 * running. A start that does not get there fails with the end of its output.
 */
export async function startVigilUp(
  dataDir: string,
  host: string,
  args: string[] = [],
  env: Env = {},
): Promise<VigilUp> {
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const up = startVigil(
    [
      'up',
      '--data-dir',
      dataDir,
      '--api-port',
      String(apiPort),
      '--nats-port',
      String(await freePort()),
      '--host-id',
      host,
      ...args,
    ],
    env,
  );
  const wanted = args.flatMap((a, i) => (args[i - 1] === '--probe' ? [a] : []));
  type Status = { sensors: { host: string; probes: { name: string; state: string }[] }[] };
  await waitFor(
    wanted.length ? `probes ${wanted.join(', ')} running` : 'the sensor running',
    () => {
      const probes = vigilJson<Status>(api, ['status']).sensors.find((x) => x.host === host)?.probes;
      if (!probes?.length) return false;
      return wanted.length
        ? wanted.every((p) => probes.some((q) => q.name === p && q.state === 'running'))
        : probes.every((p) => p.state === 'running' || p.state === 'skipped');
    },
    90_000,
    500,
  ).catch(async (err: Error) => {
    await up.stop();
    throw new Error(`${err.message}\n--- vigil up output ---\n${up.logs.join('').slice(-4000)}`);
  });
  return { api, up };
}
