import type { ResponseOrderV1, ResponseOutcome } from '@vigil/schema';
import { ancestry, descendants, liveProc, startMatches } from './target.js';

export interface ExecutorOptions {
  /** The sensor's own pid: it, its children (the bpftrace probes) and its ancestors are never targets. */
  selfPid: number;
  /** The processes the sensor runs beside (`vigil up`: the control plane, nats-server): never targets, nor their descendants. */
  protectedPids: () => readonly number[];
  /** A kernel time (ns) on the wall clock, as the sensor converts a fork record's time. */
  ktimeToWall: (ns: bigint) => bigint;
  procRoot?: string;
  /**
   * Live processes born under `pid` since `startTs`, by the sensor's record of each one's ancestry at
   * birth: those a double fork or an exiting parent moved out from under it, where /proc's parent links
   * no longer lead (the process cache's bornUnder).
   */
  bornUnder?: (pid: number, startTs: bigint) => { pid: number; startTs: bigint | null }[];
  /** process.kill, unless a test watches the signals. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

export interface Execution {
  outcome: Exclude<ResponseOutcome, 'no-answer'>;
  reason: string;
  pids: number[];
}

const refused = (reason: string): Execution => ({ outcome: 'refused', reason, pids: [] });

/**
 * Carries out an order that passed its message checks (order-check.ts) on the live process: it must
 * still be the process the order names (same start time: a recycled pid is refused), and must not be
 * pid 1, a kernel thread, the sensor, one of its ancestors or descendants, or a protected process or
 * one of theirs. A tree is stopped (SIGSTOP) as it is walked, so nothing in it can fork away, then
 * killed leaves first. The tree is what /proc shows under the process and under each process born
 * under it that was re-parented away (a double fork, `setsid`, `nohup … &` then exit).
 */
export class ResponseExecutor {
  private readonly kill: (pid: number, signal: NodeJS.Signals) => void;
  private readonly procRoot: string;

  constructor(private readonly o: ExecutorOptions) {
    this.kill = o.kill ?? ((pid, signal) => process.kill(pid, signal));
    this.procRoot = o.procRoot ?? '/proc';
  }

  /** Why this pid may not be signalled, or null when it may. */
  guard(pid: number, startTs: bigint | null): string | null {
    if (pid === 1) return 'pid 1 is never a target';
    const live = liveProc(pid, this.procRoot);
    if (!live) return `no process ${pid} is running`;
    if (live.kernelThread) return `process ${pid} is a kernel thread`;
    if (startTs !== null && !startMatches(startTs, live.startTicks, this.o.ktimeToWall))
      return `process ${pid} started at another time than the order says: the pid was reused`;
    if (pid === this.o.selfPid) return `process ${pid} is the sensor`;
    const protectedPids = new Set([this.o.selfPid, ...this.o.protectedPids()]);
    const up = ancestry(pid, this.procRoot);
    const keeper = up.find((a) => protectedPids.has(a));
    if (keeper !== undefined)
      return keeper === this.o.selfPid
        ? `process ${pid} runs under the sensor (one of its probes)`
        : `process ${pid} is Vigil's own (process ${keeper}, which the sensor runs beside)`;
    if (ancestry(this.o.selfPid, this.procRoot).includes(pid)) return `process ${pid} is an ancestor of the sensor`;
    return null;
  }

  execute(order: ResponseOrderV1): Execution {
    const why = this.guard(order.pid, BigInt(order.startTs));
    if (why) return refused(why);
    if (order.action === 'kill') {
      if (order.dryRun) return { outcome: 'dry-run', reason: 'dry run: would send SIGKILL', pids: [order.pid] };
      return this.signalAll([order.pid], 'SIGKILL');
    }
    return order.dryRun ? this.dryRunTree(order) : this.killTree(order);
  }

  /**
   * The pids below the order's process now. One the sensor saw born under it counts only while its pid
   * still holds that process (same start time): a pid freed and reused since is someone else's.
   */
  private treeNow(order: ResponseOrderV1): number[] {
    const away = (this.o.bornUnder?.(order.pid, BigInt(order.startTs)) ?? []).filter((a) => {
      const live = liveProc(a.pid, this.procRoot);
      return live !== null && a.startTs !== null && startMatches(a.startTs, live.startTicks, this.o.ktimeToWall);
    });
    const roots = away.map((a) => a.pid);
    return descendants(order.pid, this.procRoot, roots);
  }

  private dryRunTree(order: ResponseOrderV1): Execution {
    const pid = order.pid;
    const tree = [pid, ...this.treeNow(order)];
    const bad = tree.map((p) => (p === pid || !liveProc(p, this.procRoot) ? null : this.guard(p, null))).find((w) => w);
    if (bad) return refused(`the tree holds a process that is never a target: ${bad}`);
    return { outcome: 'dry-run', reason: 'dry run: would stop and kill the tree, leaves first', pids: tree };
  }

  private killTree(order: ResponseOrderV1): Execution {
    const stopped: number[] = [];
    const cont = () => {
      for (const p of stopped) this.trySignal(p, 'SIGCONT');
    };
    if (!this.trySignal(order.pid, 'SIGSTOP')) return { outcome: 'failed', reason: 'SIGSTOP failed', pids: [] };
    stopped.push(order.pid);
    // Stopped, it cannot exit and free its pid: check once more that it is the one the order names.
    const again = this.guard(order.pid, BigInt(order.startTs));
    if (again) {
      cont();
      return refused(again);
    }
    // Children forked before a parent was stopped show up on the next walk; stop until none is new.
    const tried = new Set([order.pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of this.treeNow(order)) {
        if (tried.has(p)) continue;
        tried.add(p);
        grew = true;
        // One that exited since the walk is no longer in the tree.
        const why = liveProc(p, this.procRoot) ? this.guard(p, null) : null;
        if (why) {
          cont();
          return refused(`the tree holds a process that is never a target: ${why}`);
        }
        if (this.trySignal(p, 'SIGSTOP')) stopped.push(p);
      }
    }
    return this.signalAll([...stopped].reverse(), 'SIGKILL', order.pid);
  }

  /** Signals every pid; the target (first, or `target`) failing is a failure, a descendant gone already is not. */
  private signalAll(pids: number[], signal: NodeJS.Signals, target = pids[0]!): Execution {
    const done: number[] = [];
    const failed: string[] = [];
    for (const p of pids) {
      try {
        this.kill(p, signal);
        done.push(p);
      } catch (err) {
        if (p === target || (err as NodeJS.ErrnoException).code !== 'ESRCH')
          failed.push(`${p}: ${(err as Error).message}`);
      }
    }
    // Target first in the answer, as ResponseResultV1.pids says.
    const ordered = done.includes(target) ? [target, ...done.filter((p) => p !== target)] : done;
    if (failed.length > 0)
      return { outcome: 'failed', reason: `${signal} failed for ${failed.join(', ')}`, pids: ordered };
    return { outcome: 'killed', reason: `${signal} sent to ${done.length} process(es)`, pids: ordered };
  }

  private trySignal(pid: number, signal: NodeJS.Signals): boolean {
    try {
      this.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}
