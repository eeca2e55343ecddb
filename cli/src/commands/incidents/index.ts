import { Flags } from '@oclif/core';
import { INCIDENT_STATUSES, MAX_LIST_LIMIT, SEVERITIES, type IncidentV1 } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { timeToNs } from '../../services/duration.js';
import { fetchIncidents, incidentsTable } from '../../services/incidents.js';

export default class Incidents extends ApiCommand<typeof Incidents> {
  static override description =
    'List incidents, the alerts of one host that tell one story (one process tree or job, close in time), newest activity first.';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> incidents --status open',
    '<%= config.bin %> incidents --severity high --since 1h --json',
  ];
  static override flags = {
    status: Flags.option({ options: INCIDENT_STATUSES })(),
    severity: Flags.option({ description: 'minimum severity', options: SEVERITIES })(),
    host: Flags.string(),
    job: Flags.string({ description: 'scheduler job (slurm:4242, k8s:…)' }),
    rule: Flags.string({ description: 'with at least one alert of this rule' }),
    since: Flags.string({
      description: 'active at or after this: a duration back (10m, 1h, 2d) or a date-time',
      default: '7d',
    }),
    limit: Flags.integer({ default: 100, min: 1, max: MAX_LIST_LIMIT }),
  };

  async run(): Promise<IncidentV1[]> {
    const { flags } = this;
    const list = await fetchIncidents(this.api(), {
      status: flags.status,
      severity: flags.severity,
      host: flags.host,
      job: flags.job,
      rule: flags.rule,
      sinceNs: timeToNs(flags.since),
      limit: flags.limit,
    });
    if (!this.jsonEnabled()) this.log(list.length === 0 ? 'no incidents' : incidentsTable(list));
    return list;
  }
}
