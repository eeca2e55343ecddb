import type { HostsReport } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { fetchHosts } from '../../services/api-client.js';
import { hostsText } from '../../services/hosts.js';

export default class Hosts extends ApiCommand<typeof Hosts> {
  static override description =
    'List enrolled hosts: state, sensor version, last heartbeat, probes, when the credential expires.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> hosts', '<%= config.bin %> hosts --json'];

  async run(): Promise<HostsReport> {
    const report = await fetchHosts(this.api());
    if (!this.jsonEnabled()) this.log(hostsText(report));
    return report;
  }
}
