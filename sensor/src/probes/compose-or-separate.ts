import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BlindIntervalV1 } from '@vigil/schema';
import { composeProbes, readPrelude, standaloneProbe } from './compose.js';
import { makeScriptDir } from './script-dir.js';
import { PROBES, type ProbeContext, type ProbeName } from './registry.js';
import { ProbeSupervisor } from './supervisor.js';

export interface ProbeRunOptions {
  dir: string;
  wanted: readonly ProbeName[];
  ctx: ProbeContext;
  bpftrace: string;
  /** One bpftrace process per probe instead of one for all. */
  separate: boolean;
  stallAfterMs?: number;
  stallActAfterMs?: number;
  /** Called each time a bpftrace process has attached its probes. */
  onAttached?: (pid: number) => void;
  /** Called when a blind interval of the bpftrace process running `names` ends. */
  onBlindClosed?: (names: readonly ProbeName[], blind: BlindIntervalV1) => void;
  /** Called when a probe's state changes unplanned (see ProbeSupervisor). */
  onStateChange?: () => void;
  /** The stdout handler of the bpftrace process running `names`, labelled `label`. */
  lineHandler: (label: string, names: readonly ProbeName[], sup: () => ProbeSupervisor) => (line: string) => void;
  /** Where each probe's supervisor is recorded as it is made (probes composed into one share it). */
  supervisors: Map<ProbeName, ProbeSupervisor>;
  log: Logger;
}

/**
 * Starts the wanted probes: all in one bpftrace (a quarter of the memory and one poller, see
 * probes/compose.ts), or each in its own when asked, when only one runs, or when the composed program
 * does not start. Probes this host cannot run are recorded as skipped. Returns the stop.
 */
export async function startProbes(o: ProbeRunOptions): Promise<() => Promise<void>> {
  const runnable = recordSkipped(o);
  const tmp = makeScriptDir(tmpdir());
  const scripts: Scripts = {
    tmp,
    prelude: readPrelude(o.dir),
    text: (name) => readFileSync(join(o.dir, PROBES[name].script), 'utf8'),
  };
  if (o.separate || runnable.length < 2) {
    await startSeparately(o, runnable, scripts);
  } else {
    const sup = await startComposed(o, runnable, scripts);
    if (sup.state.state !== 'running') {
      // One probe that does not load (a kernel without a tracepoint, a struct that moved) must not
      // blind the others: run each alone, so only the broken one stays down.
      o.log.warn(
        { 'probe.names': runnable, 'probe.error': sup.state.lastError },
        'composed probes did not start; running each probe in its own bpftrace',
      );
      await sup.stop();
      await startSeparately(o, runnable, scripts);
    }
  }
  return async () => {
    await Promise.all([...new Set(o.supervisors.values())].map((s) => s.stop()));
    rmSync(tmp, { recursive: true, force: true });
  };
}

function supervisor(
  o: ProbeRunOptions,
  label: string,
  names: ProbeName[],
  scriptPath: string,
  args: string[],
  env: Record<string, string>,
): ProbeSupervisor {
  const sup: ProbeSupervisor = new ProbeSupervisor({
    name: label,
    bpftrace: o.bpftrace,
    scriptPath,
    args,
    env,
    log: o.log,
    onLine: o.lineHandler(label, names, () => sup),
    flushes: names.some((n) => 'batch' in PROBES[n]),
    ...(o.stallAfterMs !== undefined ? { stallAfterMs: o.stallAfterMs } : {}),
    ...(o.stallActAfterMs !== undefined ? { stallActAfterMs: o.stallActAfterMs } : {}),
    ...(o.onAttached ? { onAttached: o.onAttached } : {}),
    ...(o.onStateChange ? { onStateChange: o.onStateChange } : {}),
    ...(o.onBlindClosed ? { onBlindClosed: (b: BlindIntervalV1) => o.onBlindClosed!(names, b) } : {}),
  });
  return sup;
}

/** Records the probes this host cannot run as skipped, with why; returns the others. */
function recordSkipped(o: ProbeRunOptions): ProbeName[] {
  const runnable: ProbeName[] = [];
  for (const name of o.wanted) {
    const p = PROBES[name];
    const skip = 'skipReason' in p ? p.skipReason(o.ctx) : null;
    if (!skip) {
      runnable.push(name);
      continue;
    }
    const sup = supervisor(o, name, [name], '', [], {});
    sup.state.state = 'skipped';
    sup.state.lastError = skip;
    o.supervisors.set(name, sup);
    o.log.info({ 'probe.name': name, 'probe.reason': skip }, 'probe skipped');
  }
  return runnable;
}

/** Where the programs bpftrace runs are written (root's own folder), and what they are made of. */
interface Scripts {
  tmp: string;
  prelude: string;
  text: (name: ProbeName) => string;
}

async function startSeparately(o: ProbeRunOptions, names: ProbeName[], scripts: Scripts): Promise<void> {
  const sups = names.map((name) => {
    const p = PROBES[name];
    const script = join(scripts.tmp, p.script);
    writeFileSync(script, standaloneProbe({ name, text: scripts.text(name) }, scripts.prelude), { mode: 0o600 });
    const sup = supervisor(o, name, [name], script, p.args(o.ctx), p.env);
    o.supervisors.set(name, sup);
    return sup;
  });
  // Probes compile in parallel; each resolves once attached or after its first exit.
  await Promise.all(sups.map((s) => s.start()));
}

async function startComposed(o: ProbeRunOptions, names: ProbeName[], scripts: Scripts): Promise<ProbeSupervisor> {
  const script = join(scripts.tmp, 'composed.bt');
  const sources = names.map((name) => ({ name, text: scripts.text(name), args: PROBES[name].args(o.ctx) }));
  writeFileSync(script, composeProbes(sources, scripts.prelude), { mode: 0o600 });
  const env = Object.assign({}, ...names.map((n) => PROBES[n].env)) as Record<string, string>;
  const sup = supervisor(o, names.join('+'), names, script, [], env);
  for (const name of names) o.supervisors.set(name, sup);
  await sup.start();
  return sup;
}
