import { Args, Command, Flags } from '@oclif/core';
import { testDetections } from '../../services/detections.js';
import { alertsTable, printable } from '../../services/render.js';

export default class DetectionsTest extends Command {
  static override description = 'Run detections offline against recorded events (NDJSON or a JSON array, as `vigil events --json` prints) and show the alerts they raise.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> detections test my-rules/ --events recorded.ndjson'];
  static override args = { path: Args.string({ required: true, description: 'detection file or folder' }) };
  static override flags = {
    events: Flags.string({ required: true, description: 'recorded events file' }),
    'with-builtins': Flags.boolean({ description: 'run the built-in detections too' }),
  };

  async run() {
    const { args, flags } = await this.parse(DetectionsTest);
    try {
      const r = await testDetections([args.path], flags.events, flags['with-builtins']);
      if (!this.jsonEnabled()) {
        for (const p of r.report.problems) this.logToStderr(printable(`${p.unsupported ? 'unsupported' : 'broken'}: ${p.path}: ${p.reason}`));
        for (const b of r.badLines) this.logToStderr(printable(`${flags.events}:${b.line}: skipped: ${b.reason}`));
        this.log(r.alerts.length ? alertsTable(r.alerts) : 'no alerts');
        this.log(`${r.events} events, ${r.alerts.length} alerts`);
      }
      if (r.report.problems.some((p) => !p.unsupported)) process.exitCode = 1;
      return { events: r.events, badLines: r.badLines, problems: r.report.problems, alerts: r.alerts };
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }
}
