import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { MAX_RECENT_BLINDS, nowNs, type BlindIntervalV1, type ProbeStateV1 } from '@vigil/schema';
import { readProcState } from '../host/procfs.js';
import { BPFTRACE_MALLOC_ENV } from './registry.js';

export interface SupervisorOptions {
  name: string;
  bpftrace: string;
  scriptPath: string;
  args: string[];
  env: Record<string, string>;
  onLine: (line: string) => void;
  /** Called after an unplanned exit, before the restart. */
  onRestart?: (info: { restarts: number; code: number | null; signal: string | null; stderr: string }) => void;
  /** Called each time a bpftrace process has attached its probes (its compile is over). */
  onAttached?: (pid: number) => void;
  /** Called when a blind interval ends: a stall resumed, or a new bpftrace attached after an exit. */
  onBlindClosed?: (blind: BlindIntervalV1) => void;
  /** Called when its state changes unplanned: a stall begins or ends, the process exits, a new one attaches. */
  onStateChange?: () => void;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Its script prints an end-of-flush record at least once a second (a batching probe runs in it), so
   * silence means a stall. Without one, only a process stopped by a signal or a tracer is seen stalled.
   */
  flushes?: boolean;
  /** No end-of-flush record for this long: stalled (ms, default 3000). */
  stallAfterMs?: number;
  /**
   * A stall this old is acted on (ms, default 2000): a bpftrace stopped by a signal is sent SIGCONT
   * (what the kernel still buffers then comes out); one still silent as long again is killed and
   * restarted (its buffers are lost, and the blind gap runs from its last flush), unless it is
   * running: busy with a backlog, or short of CPU, it stays reported stalled until it catches up.
   */
  stallActAfterMs?: number;
}

/** How often a running probe is checked for a stall (ms). */
const WATCH_MS = 500;

const PROCESS_STATES: Record<string, string> = {
  T: 'stopped by a signal',
  t: 'stopped by a tracer',
  R: 'running: busy, or short of CPU',
  S: 'sleeping: no records from the kernel',
  D: 'waiting in the kernel',
  Z: 'exited, not yet reaped',
};

/** stderr lines that bpftrace prints on healthy starts in containers; they are not errors. */
const BENIGN_STDERR = [/couldn't set RLIMIT_MEMLOCK/, /^\s*$/];

/**
 * Runs one bpftrace script and keeps it running: an unplanned exit is reported and followed by a
 * restart with exponential backoff (reset once a run has stayed up for a minute). Output that stops
 * while the process stays (SIGSTOP, a tracer, a freeze) is a stall: reported within seconds, then
 * resumed or, failing that, killed and restarted. Root can stop bpftrace; it cannot do so unseen.
 */
export class ProbeSupervisor {
  readonly state: ProbeStateV1;
  private child: ChildProcess | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private backoff: number;
  private startedAt = 0;
  private stderrTail: string[] = [];
  private attachedResolve: (() => void) | null = null;
  /** When its output was last seen complete (monotonic ms), and when the current stall was reported. */
  private aliveAt = 0;
  private stalledAt = 0;
  private watchedAt = 0;
  /** What was done about the current stall: 0 reported, 1 SIGCONT, 2 SIGKILL, 3 given up on. */
  private stallStep = 0;
  private killedForStall = false;

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
    const now = nowNs();
    const restarted = this.state.restarts > 0 && this.state.state === 'restarting';
    if (restarted) this.state.lastRestartTs = now;
    this.state.state = 'running';
    // Attached now: nothing it traces from here on has been missed yet.
    this.state.lastFlushTs = now;
    this.aliveAt = this.watchedAt = performance.now();
    this.watchTimer ??= setInterval(() => this.watch(), WATCH_MS).unref();
    if (this.child?.pid) this.opts.onAttached?.(this.child.pid);
    if (restarted) this.closeBlind('exit', now);
    this.attachedResolve?.();
    this.attachedResolve = null;
  }

  /**
   * Called by the line handler on an end-of-flush record: everything the probe saw up to `ts` (wall
   * ns, the time the record carries) has been read. Ends a stall.
   */
  markFlushed(ts: string): void {
    this.aliveAt = performance.now();
    // Probes composed into one process flush apart: the latest record read.
    if (this.state.lastFlushTs === undefined || BigInt(ts) > BigInt(this.state.lastFlushTs))
      this.state.lastFlushTs = ts;
    if (this.state.state !== 'stalled') return;
    this.state.state = 'running';
    this.closeBlind('stall', nowNs());
    const stalledMs = Date.now() - Number(BigInt(this.state.blindFromTs ?? nowNs()) / 1_000_000n);
    this.opts.log.warn(
      { 'probe.name': this.opts.name, 'probe.blindFromTs': this.state.blindFromTs, 'probe.stalledMs': stalledMs },
      'probe output resumed after a stall',
    );
  }

  /** A blind interval ended at `toTs`: kept among the latest (each raises its own alert) and told. */
  private closeBlind(cause: BlindIntervalV1['cause'], toTs: string): void {
    const fromTs = this.state.blindFromTs;
    if (fromTs === undefined) return;
    const blind = { fromTs, toTs, cause };
    this.state.recentBlinds = [...(this.state.recentBlinds ?? []), blind].slice(-MAX_RECENT_BLINDS);
    this.opts.log.warn(
      { 'probe.name': this.opts.name, 'probe.blindFromTs': fromTs, 'probe.blindToTs': toTs, 'probe.blindCause': cause },
      'probe blind interval closed',
    );
    this.opts.onBlindClosed?.(blind);
    this.opts.onStateChange?.();
  }

  /** Every WATCH_MS while the process runs: a stall is reported once, then acted on. */
  private watch(): void {
    const { log, name } = this.opts;
    const child = this.child;
    if (this.stopping || !child?.pid || (this.state.state !== 'running' && this.state.state !== 'stalled')) return;
    const now = performance.now();
    // A tick that comes late means the sensor's own loop was blocked, and bpftrace's output may be
    // waiting unread in the pipe: not the probe's stall. The next tick decides.
    const late = now - this.watchedAt > 2 * WATCH_MS;
    this.watchedAt = now;
    if (late) return;
    const procState = readProcState(child.pid);
    const frozen = procState === 'T' || procState === 't';
    // A probe without end-of-flush records has nothing to show but its process running.
    if (!this.opts.flushes && !frozen && procState !== null) this.markFlushed(nowNs());
    const stallAfter = this.opts.stallAfterMs ?? 3000;
    if (this.state.state === 'running') {
      if (now - this.aliveAt < stallAfter) return;
      this.state.state = 'stalled';
      this.state.stalls = (this.state.stalls ?? 0) + 1;
      this.state.blinds = (this.state.blinds ?? 0) + 1;
      this.state.blindFromTs = this.state.lastFlushTs ?? nowNs();
      this.stalledAt = now;
      this.stallStep = 0;
      const how = (procState && PROCESS_STATES[procState]) ?? `in state ${procState}`;
      this.state.lastError = `output stalled: nothing read for ${Math.round((now - this.aliveAt) / 1000)} s (bpftrace ${how}); blind since ${new Date(Number(BigInt(this.state.blindFromTs) / 1_000_000n)).toISOString()}`;
      log.error(
        {
          'probe.name': name,
          'probe.pid': child.pid,
          'probe.processState': procState,
          'probe.blindFromTs': this.state.blindFromTs,
          'probe.stalls': this.state.stalls,
        },
        'probe output stalled',
      );
      this.opts.onStateChange?.();
      return;
    }
    // One step per `act`, in turn: resume it, kill it, and if no exit comes, restart without it.
    const act = this.opts.stallActAfterMs ?? 2000;
    const next = this.stallStep + 1;
    if (next > 3 || now - this.stalledAt < next * act) return;
    // Running, it is busy (or waiting for a CPU on a loaded host): a kill would lose what it works through.
    if (next === 2 && procState === 'R') return;
    this.stallStep = next;
    if (next === 1) {
      // Stopped by a signal: SIGCONT brings it back with what the kernel buffered meanwhile.
      if (procState !== 'T') return;
      log.warn({ 'probe.name': name, 'probe.pid': child.pid }, 'stalled probe stopped by a signal: sending SIGCONT');
      child.kill('SIGCONT');
    } else if (next === 2) {
      log.error(
        { 'probe.name': name, 'probe.pid': child.pid, 'probe.processState': procState },
        'stalled probe did not resume: killing it to restart',
      );
      this.killedForStall = true;
      child.kill('SIGKILL');
    } else {
      // A tracer that does not wait for it keeps the killed process a zombie: its exit never comes.
      log.error(
        { 'probe.name': name, 'probe.pid': child.pid, 'probe.processState': procState },
        'killed probe not reaped (held by a tracer?): restarting without it',
      );
      this.onExit(null, 'SIGKILL');
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state.state = 'stopped';
      return;
    }
    await new Promise<void>((resolve) => {
      // Stopped by a signal, it would see the SIGINT only when continued (and END print what it holds).
      const cont = setTimeout(() => {
        if (child.pid && readProcState(child.pid) === 'T') child.kill('SIGCONT');
      }, 1000);
      // Killed, it may still not close: a tracer that does not wait for it keeps it a zombie.
      const kill = setTimeout(() => {
        child.kill('SIGKILL');
        setTimeout(resolve, 5000).unref();
      }, 5000);
      // 'close', not 'exit': END prints what the probes still buffer, and it must be read first.
      child.once('close', () => {
        clearTimeout(cont);
        clearTimeout(kill);
        resolve();
      });
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
    // Only the current process: one given up on (see watch) may still exit later.
    child.on('exit', (code, signal) => {
      if (this.child === child) this.onExit(code, signal);
    });
  }

  private onExit(code: number | null, signal: string | null): void {
    const { log, name } = this.opts;
    this.child = null;
    const stderr = this.stderrTail.join('\n');
    if (this.stopping) {
      this.state.state = 'stopped';
      return;
    }
    // What it still buffered in the kernel went with it: blind since its last flush (or its stall's).
    if (this.state.state !== 'stalled') {
      this.state.blindFromTs = this.state.lastFlushTs ?? nowNs();
      this.state.blinds = (this.state.blinds ?? 0) + 1;
    }
    const why = this.killedForStall
      ? `killed by the sensor (${this.state.lastError})`
      : `bpftrace exited (code ${code}, signal ${signal})`;
    this.killedForStall = false;
    this.state.restarts++;
    this.state.state = 'restarting';
    this.state.lastExitTs = nowNs();
    this.state.lastError = `${why}${stderr ? `: ${stderr.slice(-500)}` : ''}`;
    log.warn(
      {
        'probe.name': name,
        'probe.code': code,
        'probe.signal': signal,
        'probe.stderr': stderr.slice(-2000),
        'probe.restarts': this.state.restarts,
        'probe.blindFromTs': this.state.blindFromTs,
      },
      'probe exited; restarting',
    );
    this.opts.onRestart?.({ restarts: this.state.restarts, code, signal, stderr });
    this.opts.onStateChange?.();
    // A probe that never attached would otherwise keep start() pending forever.
    this.attachedResolve?.();
    this.attachedResolve = null;
    if (Date.now() - this.startedAt > 60_000) this.backoff = this.opts.minBackoffMs ?? 1000;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
    this.timer = setTimeout(() => {
      if (!this.stopping) this.spawnOnce();
    }, delay);
  }
}
