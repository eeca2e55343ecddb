import { defineDetection } from '../define.js';
import { basename, eventCommandLine, exeOf } from '../argv.js';
import { DOWNLOADERS, SHELLS } from '../indicators.js';
import { startsCompute } from './gpu.js';
import { judgeGpuCompute } from './gpu-expectation.js';
import { builtHere } from './gpu-provenance.js';
import { droppedHow, poolPort } from './miner-signals.js';

/**
 * The whole story in one alert: inside a job's process tree a shell downloads something, something
 * dropped (just written, from a writable place, or fileless) is run, and that process then starts
 * unexpected GPU compute or connects to a pool port or through a tunnel. Each step alone is common;
 * the sequence is the incident. A binary a compiler on this host built (llm.c's `make`, then
 * `./train_gpt2cu`) ends no chain, whatever the shell downloaded before.
 */
export const chainJobShellDownloadRun = defineDetection({
  id: 'chain.shell-download-run',
  title: 'Shell in a job downloaded and ran a binary that uses the GPU or the network',
  severity: 'critical',
  mitre: ['T1105', 'T1059.004', 'T1496', 'T1572'],
  on: ['gpu', 'connect', 'conn'],
  match(ev, ctx) {
    let action: string | null = null;
    if (ev.kind === 'gpu') {
      // An expected GPU workload, or a binary built here, ends no chain.
      const verdict = startsCompute(ev) ? judgeGpuCompute(ev, ctx) : null;
      action = verdict && verdict.severity !== 'low' ? startsCompute(ev) : null;
    } else {
      const [addr, port] =
        ev.kind === 'connect'
          ? [ev.connect.daddr, ev.connect.dport]
          : ev.conn.event === 'established' && ev.conn.direction === 'out'
            ? [ev.conn.remote.addr, ev.conn.remote.port]
            : [null, 0];
      if (addr === null) return null;
      const flagged = [...ctx.flagged(ev.host, ev.proc.pid)].some(
        (r) => r.startsWith('tunnel.') || r.startsWith('shell.') || r.startsWith('miner.'),
      );
      if (poolPort(addr, port) || flagged) action = `connected to ${addr}:${port}`;
    }
    if (!action) return null;
    const exe = exeOf(ev);
    if (!droppedHow(exe, ev.proc) || builtHere(ctx, ev.host, exe)) return null;
    const shellAt = ev.proc.ancestry.findIndex((a) => SHELLS.includes(a.comm));
    if (shellAt < 0) return null;
    const shell = ev.proc.ancestry[shellAt]!;
    // The download belongs to this run when the same shell did it, or when it names the file run.
    const downloads = ctx.descendantExecs(ev.host, shell.pid).filter((e) => {
      if (e.kind !== 'exec' || !DOWNLOADERS.includes(basename(e.proc.exe || e.exec.filename))) return false;
      const sameShell = e.proc.ancestry.find((a) => SHELLS.includes(a.comm))?.pid === shell.pid;
      const namesFile = e.exec.argv.some((a) => a === exe || a.endsWith(`/${basename(exe)}`) || a === basename(exe));
      return sameShell || namesFile;
    });
    const download = downloads.at(-1);
    if (!download) return null;
    const ran = [...ctx.recent(ev.host, ev.proc.pid)].reverse().find((e) => e.kind === 'exec' && e.exec.ret === 0);
    const job = ev.proc.job ?? describeTop(ev.proc.ancestry.slice(shellAt + 1));
    const dl = download.kind === 'exec' ? eventCommandLine(download.exec.argv) : '';
    return {
      reason: `in ${job}: ${shell.comm} (pid ${shell.pid}) downloaded with \`${dl}\`, then ran ${exe} (pid ${ev.proc.pid}), which ${action}`,
      evidence: [download.id, ...(ran ? [ran.id] : [])],
    };
  },
});

function describeTop(ancestors: { comm: string; pid: number; argv: string[] }[]): string {
  const top =
    ancestors.find((a) => /python|torchrun|srun|slurmstepd|deepspeed|accelerate|mpirun/.test(a.comm)) ?? ancestors[0];
  return top
    ? `the process tree of ${top.comm} (pid ${top.pid}${top.argv.length ? `: ${top.argv.slice(0, 4).join(' ')}` : ''})`
    : 'an unknown job';
}
