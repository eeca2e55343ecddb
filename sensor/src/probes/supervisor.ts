import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { nowNs, type ProbeStateV1 } from '@vigil/schema';
import { BPFTRACE_MALLOC_ENV } from './registry.js';

export interface SupervisorOptions {
  name: string;
  bpftrace: string;
  scriptPath: string;
  args: string[];
  env: Record<string, string>;
  onLine: (line: string) => void;
  /** Called after an unplanned exit, before the restart; `gapStartNs` is when output stopped. */
  onRestart?: (info: { restarts: number; code: number | null; signal: string | null; stderr: string }) => void;
  /** Called each time a bpftrace process has attached its probes (its compile is over). */
  onAttached?: (pid: number) => void;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** stderr lines that bpftrace prints on healthy starts in containers; they are not errors. */
const BENIGN_STDERR = [/couldn't set RLIMIT_MEMLOCK/, /^\s*$/];

/**
 * Runs one bpftrace script and keeps it running: an unplanned exit is reported and followed by a
 * restart with exponential backoff (reset once a run has stayed up for a minute).
 */
export class ProbeSupervisor {
  readonly state: ProbeStateV1;
  private child: ChildProcess | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private backoff: number;
  private startedAt = 0;
  private stderrTail: string[] = [];
  private attachedResolve: (() => void) | null = null;

  constructor(private readonly opts: SupervisorOptions) {
    this.state = { name: opts.name, state: 'starting', restarts: 0, lostEvents: 0, lastError: null };
    this.backoff = opts.minBackoffMs ?? 1000;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts bpftrace; resolves once its probes are attached (or it has exited). */
  start(): Promise<void> {
    this.stopping = false;
    return new Promise((resolve) => {
      this.attachedResolve = resolve;
      this.spawnOnce();
    });
  }

  /** Called by the line handler on the probe's ready record (printed from BEGIN, after attaching). */
  markAttached(): void {
    if (this.state.restarts > 0 && this.state.state === 'restarting') this.state.lastRestartTs = nowNs();
    this.state.state = 'running';
    if (this.child?.pid) this.opts.onAttached?.(this.child.pid);
    this.attachedResolve?.();
    this.attachedResolve = null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state.state = 'stopped';
      return;
    }
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      // 'close', not 'exit': END prints what the probes still buffer, and it must be read first.
      child.once('close', () => { clearTimeout(kill); resolve(); });
      child.kill('SIGINT');
    });
    this.state.state = 'stopped';
  }

  private spawnOnce(): void {
    const { bpftrace, scriptPath, args, env, log, name } = this.opts;
    this.stderrTail = [];
    this.startedAt = Date.now();
    // Through setpriv: bpftrace gets SIGTERM when the sensor dies (even by SIGKILL), so none outlives it.
    const child = spawn('setpriv', ['--pdeathsig', 'SIGTERM', '--', bpftrace, '-f', 'json', scriptPath, ...args], {
      env: { ...process.env, ...BPFTRACE_MALLOC_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C (sent to the whole foreground group) must reach the
      // sensor only, which then stops its probes in order.
      detached: true,
    });
    this.child = child;
    log.info({ 'probe.name': name, 'probe.pid': child.pid, 'probe.args': args }, 'probe starting');
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', this.opts.onLine);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (BENIGN_STDERR.some((re) => re.test(line))) return;
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
    child.on('error', (err) => {
      this.state.lastError = `cannot run ${bpftrace}: ${err.message}`;
      log.error({ 'probe.name': name, err }, 'probe spawn failed');
    });
    child.on('exit', (code, signal) => this.onExit(code, signal));
  }

  private onExit(code: number | null, signal: string | null): void {
    const { log, name } = this.opts;
    this.child = null;
    const stderr = this.stderrTail.join('\n');
    if (this.stopping) {
      this.state.state = 'stopped';
      return;
    }
    this.state.restarts++;
    this.state.state = 'restarting';
    this.state.lastExitTs = nowNs();
    this.state.lastError = `bpftrace exited (code ${code}, signal ${signal})${stderr ? `: ${stderr.slice(-500)}` : ''}`;
    log.warn({ 'probe.name': name, 'probe.code': code, 'probe.signal': signal, 'probe.stderr': stderr.slice(-2000), 'probe.restarts': this.state.restarts }, 'probe exited; restarting');
    this.opts.onRestart?.({ restarts: this.state.restarts, code, signal, stderr });
    // A probe that never attached would otherwise keep start() pending forever.
    this.attachedResolve?.();
    this.attachedResolve = null;
    if (Date.now() - this.startedAt > 60_000) this.backoff = this.opts.minBackoffMs ?? 1000;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
    this.timer = setTimeout(() => { if (!this.stopping) this.spawnOnce(); }, delay);
  }
}
