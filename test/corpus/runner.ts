/**
 * Runs corpus scenarios as real processes: writes their files, runs their steps (each in its own
 * process group, all of a scenario within SCENARIO_MS), and remembers the pids it started and when,
 * so that alerts and events can be attributed to the scenario by process ancestry.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { CORPUS_DIR, fill, type Scenario, type Step, stepOf } from './scenario.js';

/** Each scenario's steps run within this (a step still running then is killed). */
export const SCENARIO_MS = 5_000;

export interface RunRecord {
  scenario: Scenario;
  /** Pids of the processes the scenario's steps started (their descendants are the scenario's too). */
  roots: number[];
  startNs: bigint;
  endNs: bigint;
  /** Why it did not run (a required command is not installed), if it did not. */
  notRun?: string;
}

export interface RunContext {
  /** Placeholder values shared by every scenario; {dir}, {project}, {port1}, {port2} are added per scenario. */
  values: Record<string, string>;
  /** A folder per scenario is made under it: {dir}. */
  scratch: string;
  /** A folder per scenario is made under it: {project} (ordinary work lives in home folders). */
  homes: string;
  /** The corpus's unprivileged user, for scenarios with `user: true`. */
  user: { uid: number; gid: number; home: string };
  freePort: () => Promise<number>;
}

export const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const installed = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Starts one step; resolves when it exits (foreground) or has started (background, after waitPort). */
async function start(
  step: Step,
  v: Record<string, string>,
  opts: { env: NodeJS.ProcessEnv; uid?: number; gid?: number; deadline: number },
): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const s = stepOf(step);
  const [cmd, ...args] = s.argv.map((a) => fill(a, v));
  const child = spawn(cmd!, args, {
    stdio: 'ignore',
    detached: true,
    env: opts.env,
    ...(s.cwd ? { cwd: fill(s.cwd, v) } : {}),
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  if (!('background' in s && s.background)) {
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), Math.max(0, opts.deadline - Date.now()));
    await exited;
    clearTimeout(timer);
  } else if (s.waitPort) {
    const port = Number(fill(s.waitPort, v));
    while (Date.now() < opts.deadline && !(await portOpen(port))) await sleep(50);
  }
  return { child, exited };
}

function writeFiles(scenario: Scenario, v: Record<string, string>, ctx: RunContext) {
  for (const f of scenario.files ?? []) {
    const path = fill(f.path, v);
    const body = f.asset ? readFileSync(join(CORPUS_DIR, 'assets', f.asset), 'utf8') : fill(f.content ?? '', v);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.interpreter ? `#!${v.python}\n${body}` : body);
    if (f.mode) chmodSync(path, Number.parseInt(f.mode, 8));
    if (scenario.user) chownSync(path, ctx.user.uid, ctx.user.gid);
  }
}

/** Runs steps one after another (not attributed: prelude and cleanup). */
async function runPlain(steps: Step[] | undefined, v: Record<string, string>, env: NodeJS.ProcessEnv) {
  for (const step of steps ?? []) await start(step, v, { env, deadline: Date.now() + SCENARIO_MS });
}

export async function runScenario(scenario: Scenario, ctx: RunContext): Promise<RunRecord> {
  const missing = (scenario.requires ?? []).filter((c) => !installed(c));
  if (missing.length > 0)
    return { scenario, roots: [], startNs: nowNs(), endNs: nowNs(), notRun: `${missing.join(', ')} not installed` };
  const dir = join(ctx.scratch, scenario.name);
  const project = join(ctx.homes, scenario.name);
  mkdirSync(dir, { recursive: true });
  mkdirSync(project, { recursive: true });
  const v: Record<string, string> = {
    ...ctx.values,
    dir,
    project,
    port1: String(await ctx.freePort()),
    port2: String(await ctx.freePort()),
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(Object.entries(scenario.env ?? {}).map(([k, x]) => [k, fill(x, v)])),
    ...(scenario.user ? { HOME: ctx.user.home, USER: 'corpus' } : {}),
  };
  writeFiles(scenario, v, ctx);
  await runPlain(scenario.prelude, v, env);

  const startNs = nowNs();
  const deadline = Date.now() + SCENARIO_MS;
  const roots: number[] = [];
  const background: { child: ChildProcess; exited: Promise<void> }[] = [];
  const as = scenario.user ? { uid: ctx.user.uid, gid: ctx.user.gid } : {};
  for (const step of scenario.steps) {
    if (Date.now() >= deadline) break;
    const started = await start(step, v, { env, deadline, ...as });
    if (started.child.pid !== undefined) roots.push(started.child.pid);
    if ('background' in stepOf(step) && stepOf(step).background) background.push(started);
  }
  for (const b of background) killGroup(b.child, 'SIGTERM');
  await Promise.race([Promise.all(background.map((b) => b.exited)), sleep(1000)]);
  for (const b of background) killGroup(b.child, 'SIGKILL');
  const endNs = nowNs();
  await runPlain(scenario.cleanup, v, process.env);
  return { scenario, roots, startNs, endNs };
}
