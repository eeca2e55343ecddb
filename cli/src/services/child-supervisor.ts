import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

export class ChildStartError extends Error {
  override name = 'ChildStartError';
}

/** What `vigil up` reports of a process it keeps running (status: `controlPlane.supervised`). */
export interface ChildReport {
  state: 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';
  pid: number | null;
  /** Unplanned exits (and restarts asked for, e.g. JetStream disabled) since `vigil up` started. */
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string; reason: string | null } | null;
}

export interface SupervisedChildOptions {
  name: string;
  /** Starts one process (it must outlive nothing: see signals.ts withParentDeathSignal). */
  spawn: () => ChildProcess;
  /** Resolves once the process serves; rejects when it cannot (its exit is awaited by the caller). */
  ready: (child: ChildProcess) => Promise<void>;
  stopSignal: NodeJS.Signals;
  /** After this long, a process that ignored stopSignal gets SIGKILL. */
  stopTimeoutMs: number;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Keeps one child process running: an unplanned exit is logged (once per exit, with what it says)
 * and counted, and the process started again after a backoff that doubles (0.5 s up to 30 s) and
 * resets once a run has lasted a minute. stop() ends it in order: stopSignal, then SIGKILL.
 */
export class SupervisedChild {
  private child: ChildProcess | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private startedAt = 0;
  private pendingReason: string | null = null;
  private readonly state: ChildReport = { state: 'starting', pid: null, restarts: 0, lastExit: null };

  constructor(private readonly o: SupervisedChildOptions) {
    this.backoffMs = o.minBackoffMs ?? 500;
  }

  report(): ChildReport {
    return { ...this.state, lastExit: this.state.lastExit && { ...this.state.lastExit } };
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The first start: rejects (and leaves nothing running) when the process does not come up. */
  async start(): Promise<void> {
    const child = this.o.spawn();
    this.child = child;
    const exit = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new ChildStartError(`${this.o.name} exited during start (code ${code}, signal ${signal})`)),
      ),
    );
    const spawnError = new Promise<never>((_, reject) =>
      child.once('error', (err) =>
        reject(new ChildStartError(`cannot run ${this.o.name}: ${err.message}`, { cause: err })),
      ),
    );
    try {
      await Promise.race([this.o.ready(child), exit, spawnError]);
    } catch (err) {
      await this.kill(child, 'SIGKILL');
      this.child = null;
      this.state.state = 'stopped';
      throw err;
    }
    exit.catch(() => {});
    spawnError.catch(() => {});
    this.running(child);
  }

  /** Ends the running process (stopSignal, then SIGKILL) and starts a new one: it no longer serves. */
  restart(reason: string): void {
    const child = this.child;
    if (!child || this.stopping || this.pendingReason) return;
    this.pendingReason = reason;
    this.o.log.warn(
      { 'child.name': this.o.name, 'child.pid': child.pid, 'child.reason': reason },
      `${this.o.name} restarted: ${reason}`,
    );
    void this.kill(child, this.o.stopSignal);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    this.state.state = 'stopping';
    if (child) await this.kill(child, this.o.stopSignal);
    this.state.state = 'stopped';
    this.state.pid = null;
  }

  private running(child: ChildProcess): void {
    this.startedAt = Date.now();
    this.state.state = 'running';
    this.state.pid = child.pid ?? null;
    child.once('exit', (code, signal) => this.onExit(code, signal));
  }

  private onExit(code: number | null, signal: string | null): void {
    this.child = null;
    this.state.pid = null;
    if (this.stopping) return;
    const reason = this.pendingReason;
    this.pendingReason = null;
    this.state.restarts++;
    this.state.state = 'restarting';
    this.state.lastExit = { code, signal, at: new Date().toISOString(), reason };
    if (Date.now() - this.startedAt > 60_000) this.backoffMs = this.o.minBackoffMs ?? 500;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs ?? 30_000);
    this.o.log.error(
      {
        'child.name': this.o.name,
        'child.code': code,
        'child.signal': signal,
        'child.restarts': this.state.restarts,
        'child.backoffMs': delay,
      },
      `${this.o.name} exited; starting it again`,
    );
    this.timer = setTimeout(() => void this.respawn(), delay);
  }

  private async respawn(): Promise<void> {
    if (this.stopping) return;
    let child: ChildProcess;
    try {
      child = this.o.spawn();
    } catch (err) {
      this.o.log.error({ 'child.name': this.o.name, err }, `cannot start ${this.o.name}`);
      this.onExit(null, null);
      return;
    }
    this.child = child;
    child.once('error', (err) => this.o.log.error({ 'child.name': this.o.name, err }, `cannot run ${this.o.name}`));
    const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
    const outcome = await Promise.race([
      this.o.ready(child).then(
        () => 'ready' as const,
        () => 'failed' as const,
      ),
      exited,
    ]);
    if (outcome === 'exited' || child.exitCode !== null || child.signalCode !== null) {
      // Counted as one more exit; the backoff grows.
      this.onExit(child.exitCode, child.signalCode);
      return;
    }
    if (outcome === 'failed') {
      this.running(child);
      this.restart('it did not come up');
      return;
    }
    this.running(child);
    if (this.stopping) return;
    this.o.log.info(
      { 'child.name': this.o.name, 'child.pid': child.pid, 'child.restarts': this.state.restarts },
      `${this.o.name} running again`,
    );
  }

  /** Signals `child` and waits for its exit; SIGKILL after stopTimeoutMs. */
  private async kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(
      () => {
        this.o.log.warn(
          { 'child.name': this.o.name, 'child.pid': child.pid, 'child.signal': signal },
          `${this.o.name} ignored ${signal}; killing it`,
        );
        child.kill('SIGKILL');
      },
      signal === 'SIGKILL' ? 0 : this.o.stopTimeoutMs,
    );
    child.kill(signal);
    await exited;
    clearTimeout(timer);
  }
}
