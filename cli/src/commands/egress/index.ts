import { Flags } from '@oclif/core';
import { MAX_LIST_LIMIT, type EgressReport } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { fetchEgress } from '../../services/api-client.js';
import { timeToNs } from '../../services/duration.js';
import { egressText } from '../../services/egress.js';

export default class Egress extends ApiCommand<typeof Egress> {
  static override description =
    'Summarise outbound TCP like a firewall view: per host and job, which process held connections to which destination, how many, and for how long (from the conn events of the tcp probe).';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> egress --since 1h',
    '<%= config.bin %> egress --job slurm:4242 --json',
  ];
  static override flags = {
    host: Flags.string(),
    job: Flags.string({ description: 'scheduler job, as the cgroup names it (slurm:4242, k8s:…)' }),
    since: Flags.string({
      description: 'only connections at or after this: a duration back (30s, 10m, 1h, 2d) or a date-time',
      default: '24h',
    }),
    until: Flags.string({ description: 'only connections before this (same forms as --since)' }),
    limit: Flags.integer({ default: 100, min: 1, max: MAX_LIST_LIMIT, description: 'rows (process and destination)' }),
  };

  async run(): Promise<EgressReport> {
    const { flags } = this;
    const report = await fetchEgress(this.api(), {
      host: flags.host,
      job: flags.job,
      limit: flags.limit,
      sinceNs: timeToNs(flags.since),
      untilNs: flags.until ? timeToNs(flags.until) : undefined,
    });
    if (!this.jsonEnabled()) this.log(egressText(report));
    return report;
  }
}
