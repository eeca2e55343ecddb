import { Args } from '@oclif/core';
import type { HostRow } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { revokeHost } from '../../services/api-client.js';

export default class HostsRevoke extends ApiCommand<typeof HostsRevoke> {
  static override description =
    "Revoke a host's credential: nats-server closes its connection and refuses it from then on; the host may enroll again with a new key.";
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> hosts revoke gpu-17'];
  static override args = { host: Args.string({ required: true, description: 'host id' }) };

  async run(): Promise<HostRow> {
    const row = await revokeHost(this.api(), this.args.host);
    if (!this.jsonEnabled()) this.log(`${row.host}: revoked (key ${row.publicKey})`);
    return row;
  }
}
