import { ApiCommand } from '../../base-command.js';
import { fetchDetections } from '../../services/api-client.js';
import type { DetectionsReport } from '@vigil/schema';
import { printable, table } from '../../services/render.js';

export default class DetectionsList extends ApiCommand<typeof DetectionsList> {
  static override description =
    'Detections running in the control plane: built-in, custom, SQL, and files that did not load (with why).';
  static override enableJsonFlag = true;

  async run(): Promise<DetectionsReport> {
    const r = await fetchDetections(this.api());
    if (!this.jsonEnabled()) {
      this.log(
        table(
          ['ID', 'SEVERITY', 'SOURCE', 'FIRED', 'ERRORS', 'TITLE'],
          [
            ...r.loaded.map((d) => [
              d.id,
              d.ranks ? `${d.ranks.min}..${d.ranks.max}` : d.severity,
              d.origin === 'heartbeat' ? 'builtin/heartbeat' : d.source,
              String(d.fired),
              String(d.errors),
              d.title,
            ]),
            ...r.sql.map((d) => [d.id, d.severity, `sql/${d.intervalMs / 1000}s`, '', d.lastError ? '!' : '', d.title]),
          ],
          70,
        ),
      );
      const ranked = r.loaded.filter((d) => d.ranks);
      if (ranked.length > 0) {
        this.log('');
        for (const d of ranked) this.log(printable(`${d.id}: ${d.severity} by default; ${d.ranks!.rule}`));
      }
      for (const p of r.problems)
        this.log(printable(`${p.unsupported ? 'unsupported' : 'broken'}: ${p.path}: ${p.reason}`));
    }
    return r;
  }
}
