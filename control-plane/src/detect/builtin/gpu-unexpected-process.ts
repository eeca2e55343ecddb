import { defineDetection } from '../define.js';
import { exeOf } from '../argv.js';
import { gpusUsed, startsCompute } from './gpu.js';
import { judgeGpuCompute } from './gpu-expectation.js';
import { observe } from './gpu-provenance.js';

/**
 * GPU compute by a process the job's launcher did not start, judged by job and provenance, not by
 * path: the alert names the rule of expectation that failed. It also watches execs and exe reports to
 * learn what was built on the host and which job each binary was first seen in.
 */
export const gpuUnexpectedProcess = defineDetection({
  id: 'gpu.unexpected-process',
  title: 'GPU compute by a process the job did not start',
  severity: 'high',
  mitre: ['T1496'],
  on: ['gpu', 'exec', 'exe'],
  description:
    "A process starts GPU compute (compute class, channel, KFD queue) and is not one the job's launcher started " +
    "(the job's interpreter and workers, installed software seen before the job, configured globs): a tool-call " +
    'shell under the job, a dropped, fileless or writable-place binary, a non-python binary in a Python ' +
    'environment, a just-written /usr/local binary, a binary first seen in this job, or a process outside any job.',
  ranks: {
    min: 'low',
    max: 'critical',
    rule:
      'critical: fileless; dropped or from a scratch place; a tool call that is also dropped or networked. high: a tool call, ' +
      'a user-owned directory, a non-python binary in a venv, a just-written /usr/local binary, first seen in the job. ' +
      'medium: outside any job on a job host. low: dropped but built by a compiler on this host',
  },
  match(ev, ctx) {
    observe(ctx, ev);
    if (ev.kind !== 'gpu') return null;
    const what = startsCompute(ev);
    if (!what) return null;
    const verdict = judgeGpuCompute(ev, ctx);
    if (!verdict) return null;
    const gpus = gpusUsed(ev, ctx.gpuDevices(ev.host, ev.proc.pid));
    return {
      reason: `${exeOf(ev) || ev.proc.comm} (pid ${ev.proc.pid}) ${what}: ${gpus.length > 0 ? `GPU ${gpus.join(', ')}; ` : ''}${verdict.why} (expectation failed: ${verdict.rule})`,
      severity: verdict.severity,
    };
  },
});
