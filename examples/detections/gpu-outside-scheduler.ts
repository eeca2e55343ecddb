/**
 * Example custom detection (TypeScript). Load with `vigil up --detections examples/detections`;
 * check offline with `vigil detections test examples/detections --events sample-events.ndjson`.
 *
 * A module's default export is one detection: an id, a title, a severity, MITRE ids, the event kinds
 * it looks at (`on`), and `match`, which returns a finding ({ reason }) or null. `match` receives the
 * event typed by `on`, with the process and its ancestry, and a context that answers history and
 * ancestry questions. One self-contained file per detection.
 */
import { defineDetection } from '@vigil/control-plane/detect';

export default defineDetection({
  id: 'site.gpu-outside-scheduler',
  title: 'GPU used by a process that the scheduler did not start',
  severity: 'medium',
  mitre: ['T1496'],
  on: ['gpu'],
  author: 'Vigil examples',
  match(ev, ctx) {
    // On this site every training job runs under Slurm: its processes have a job id from their cgroup.
    if (ev.proc.job !== null) return null;
    // A human debugging with nvidia-smi is fine.
    if (ev.proc.comm === 'nvidia-smi') return null;
    const viaShell = ctx.hasAncestor(ev.proc, (a) => a.comm === 'bash' || a.comm === 'sh');
    return {
      reason: `${ev.proc.exe || ev.proc.comm} (pid ${ev.proc.pid}) called ${ev.gpu.name} on ${ev.gpu.device} outside any Slurm job${viaShell ? ', from a shell' : ''}`,
    };
  },
});
