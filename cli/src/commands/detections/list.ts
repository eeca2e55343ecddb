import { Command } from '@oclif/core';
import { apiTarget } from '../../services/api-client.js';
import { table } from '../../services/render.js';
import { apiFlag } from '../../services/flags.js';

interface Report {
  loaded: { id: string; title: string; severity: string; source: string; origin: string; author: string | null; fired: number; errors: number }[];
  sql: { id: string; title: string; severity: string; origin: string; intervalMs: number; lastError: string | null }[];
  problems: { path: string; reason: string; unsupported: boolean }[];
}

export default class DetectionsList extends Command {
  static override description = 'Detections running in the control plane: built-in, custom, SQL, and files that did not load (with why).';
  static override enableJsonFlag = true;
  static override flags = { api: apiFlag };

  async run(): Promise<Report> {
    const { flags } = await this.parse(DetectionsList);
    const api = apiTarget(flags.api);
    let r: Report;
    try {
      const res = await fetch(`${api.url}/api/v1/detections`, { headers: api.token ? { authorization: `Bearer ${api.token}` } : {} });
      if (!res.ok) throw new Error(`the API answered ${res.status}`);
      r = (await res.json()) as Report;
    } catch (err) {
      this.error(`cannot list detections from ${api.url}: ${(err as Error).message}`, { exit: 1 });
    }
    if (!this.jsonEnabled()) {
      this.log(table(['ID', 'SEVERITY', 'SOURCE', 'FIRED', 'ERRORS', 'TITLE'], [
        ...r.loaded.map((d) => [d.id, d.severity, d.source, String(d.fired), String(d.errors), d.title]),
        ...r.sql.map((d) => [d.id, d.severity, `sql/${d.intervalMs / 1000}s`, '', d.lastError ? '!' : '', d.title]),
      ], 70));
      for (const p of r.problems) this.log(`${p.unsupported ? 'unsupported' : 'broken'}: ${p.path}: ${p.reason}`);
    }
    return r;
  }
}
