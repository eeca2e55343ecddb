import { Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.js';
import { MAX_LIST_LIMIT, SEVERITIES, type AlertQuery, type AlertV1 } from '@vigil/schema';
import { fetchAlerts, followAlerts } from '../../services/api-client.js';
import { sinceToNs } from '../../services/duration.js';
import { alertStory, alertsTable } from '../../services/render.js';

export default class Alerts extends ApiCommand<typeof Alerts> {
  static override description = 'Show alerts, newest first, or stream them live with --follow.';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> alerts --since 1h --severity high',
    '<%= config.bin %> alerts --follow',
    '<%= config.bin %> alerts --rule miner.exec --json',
    '<%= config.bin %> alerts --suppressed --since 7d',
  ];
  static override flags = {
    since: Flags.string({ description: 'only alerts newer than this (30s, 10m, 1h, 2d)', default: '24h' }),
    severity: Flags.option({ description: 'minimum severity', options: SEVERITIES })(),
    rule: Flags.string({ description: 'rule id, e.g. miner.exec' }),
    host: Flags.string(),
    limit: Flags.integer({ default: 100, min: 1, max: MAX_LIST_LIMIT }),
    follow: Flags.boolean({
      char: 'f',
      description: 'stream new alerts as they are raised (with --json: one object per line)',
    }),
    suppressed: Flags.boolean({
      description:
        "the alerts vigil.yaml's suppressions held back (stored, not raised), with the suppression and its reason",
      exclusive: ['follow'],
    }),
    verbose: Flags.boolean({ char: 'v', description: 'tell each alert in full: reason, process, ancestry, evidence' }),
  };

  async run(): Promise<AlertV1[] | undefined> {
    const { flags } = this;
    const api = this.api();
    const q: AlertQuery = { severity: flags.severity, rule: flags.rule, host: flags.host };
    if (flags.follow) {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followAlerts(
        api,
        q,
        (a) => {
          // --json with --follow: one object per line, so a consumer can read as they come.
          // (oclif silences this.log under --json, hence stdout directly.)
          process.stdout.write(
            `${this.jsonEnabled() ? JSON.stringify(a) : flags.verbose ? `${alertStory(a)}\n` : alertsTable([a]).split('\n')[1]!}\n`,
          );
        },
        stop.signal,
      );
      return;
    }
    const alerts = await fetchAlerts(api, {
      ...q,
      limit: flags.limit,
      sinceNs: sinceToNs(flags.since),
      ...(flags.suppressed ? { suppressed: true } : {}),
    });
    if (!this.jsonEnabled())
      this.log(
        alerts.length === 0
          ? flags.suppressed
            ? 'no suppressed alerts'
            : 'no alerts'
          : flags.verbose
            ? alerts.map(alertStory).join('\n\n')
            : alertsTable(alerts),
      );
    return alerts;
  }
}
