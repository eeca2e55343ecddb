import { Args } from '@oclif/core';
import { VigilCommand } from '../../base-command.js';
import type { LoadReport } from '@vigil/control-plane';
import { problemLines, validateDetections } from '../../services/detections.js';
import { printable } from '../../services/render.js';

export default class DetectionsValidate extends VigilCommand {
  static override description =
    "Check detection files without running them on events: TypeScript modules are type-checked against @vigil/control-plane/detect, SQL detections run once on an empty store with the control plane's schema (each row needs a `host`), Sigma rules are compiled. Lists every error of each broken file; exits 1 if any is broken.";
  static override enableJsonFlag = true;
  static override strict = false;
  static override args = { path: Args.string({ required: true, description: 'file or folder (more may follow)' }) };

  async run(): Promise<LoadReport> {
    const { argv } = await this.parse(DetectionsValidate);
    const report = await validateDetections(argv as string[]);
    if (!this.jsonEnabled()) {
      for (const d of report.detections)
        this.log(printable(`ok           ${d.detection.id}  (${d.source}, ${d.origin})`));
      for (const d of report.sql)
        this.log(printable(`ok           ${d.id}  (sql every ${d.intervalMs / 1000}s, ${d.origin})`));
      for (const line of problemLines(report.problems).flatMap((l) => l.split('\n'))) this.log(printable(line));
      const broken = report.problems.filter((p) => !p.unsupported);
      const files = new Set(broken.map((p) => p.path)).size;
      const errors = broken.reduce((n, p) => n + (p.details?.length ?? 1), 0);
      this.log(
        `${report.detections.length + report.sql.length} loaded, ${report.problems.length - broken.length} unsupported, ${files} broken${files ? ` (${errors} error${errors === 1 ? '' : 's'})` : ''}`,
      );
    }
    if (report.problems.some((p) => !p.unsupported)) process.exitCode = 1;
    return report;
  }
}
