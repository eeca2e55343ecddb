import { Args, Command } from '@oclif/core';
import type { LoadReport } from '@vigil/control-plane';
import { validateDetections } from '../../services/detections.js';
import { printable } from '../../services/render.js';

export default class DetectionsValidate extends Command {
  static override description = 'Check detection files (TypeScript/JavaScript modules, Sigma rules, SQL) without running them; exits 1 if any is broken.';
  static override enableJsonFlag = true;
  static override strict = false;
  static override args = { path: Args.string({ required: true, description: 'file or folder (more may follow)' }) };

  async run(): Promise<LoadReport> {
    const { argv } = await this.parse(DetectionsValidate);
    const report = await validateDetections(argv as string[]);
    if (!this.jsonEnabled()) {
      for (const d of report.detections) this.log(printable(`ok           ${d.detection.id}  (${d.source}, ${d.origin})`));
      for (const d of report.sql) this.log(printable(`ok           ${d.id}  (sql every ${d.intervalMs / 1000}s, ${d.origin})`));
      for (const p of report.problems) this.log(printable(`${p.unsupported ? 'unsupported' : 'broken     '}  ${p.path}: ${p.reason}`));
      this.log(`${report.detections.length + report.sql.length} loaded, ${report.problems.filter((p) => p.unsupported).length} unsupported, ${report.problems.filter((p) => !p.unsupported).length} broken`);
    }
    if (report.problems.some((p) => !p.unsupported)) process.exitCode = 1;
    return report;
  }
}
