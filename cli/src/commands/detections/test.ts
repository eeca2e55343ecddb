import { Args, Flags } from '@oclif/core';
import { VigilCommand } from '../../base-command.js';
import { problemLines, testDetections } from '../../services/detections.js';
import { alertsTable, printable } from '../../services/render.js';

export default class DetectionsTest extends VigilCommand {
  static override description =
    'Run detections offline against recorded events (NDJSON or a JSON array, as `vigil events --json` prints) and show the alerts they raise. SQL detections run once over a scratch store holding just these events. Exits 1 if a file is broken, a detection threw or a SQL detection failed.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> detections test my-rules/ --events recorded.ndjson'];
  static override args = { path: Args.string({ required: true, description: 'detection file or folder' }) };
  static override flags = {
    events: Flags.string({ required: true, description: 'recorded events file' }),
    'with-builtins': Flags.boolean({ description: 'run the built-in detections too' }),
  };

  async run() {
    const { args, flags } = await this.parse(DetectionsTest);
    const r = await testDetections([args.path], flags.events, flags['with-builtins']);
    if (!this.jsonEnabled()) {
      for (const line of problemLines(r.report.problems).flatMap((l) => l.split('\n')))
        this.logToStderr(printable(line));
      for (const b of r.badLines) this.logToStderr(printable(`${flags.events}:${b.line}: skipped: ${b.reason}`));
      for (const f of r.failures) {
        this.logToStderr(
          printable(
            f.source === 'sql'
              ? `failed       ${f.id}: ${f.firstError}`
              : `failed       ${f.id}: threw on ${f.errors} of ${f.of} events; first: ${f.firstError}`,
          ),
        );
      }
      this.log(r.alerts.length ? alertsTable(r.alerts) : 'no alerts');
      this.log(
        `${r.events} events, ${r.alerts.length} alerts${r.failures.length ? `, ${r.failures.length} detection${r.failures.length === 1 ? '' : 's'} failed` : ''}`,
      );
    }
    if (r.report.problems.some((p) => !p.unsupported) || r.failures.length > 0) process.exitCode = 1;
    return {
      events: r.events,
      badLines: r.badLines,
      problems: r.report.problems,
      failures: r.failures,
      sql: r.sql,
      alerts: r.alerts,
    };
  }
}
