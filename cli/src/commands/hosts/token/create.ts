import { Flags } from '@oclif/core';
import type { EnrollToken } from '@vigil/schema';
import { ApiCommand } from '../../../base-command.js';
import { createEnrollToken } from '../../../services/api-client.js';
import { parseDuration } from '../../../services/duration.js';

export default class HostsTokenCreate extends ApiCommand<typeof HostsTokenCreate> {
  static override description =
    'Make an enrollment token: a host trades it for its own NATS credential (vigil sensor --enroll URL --token T). Shown once.';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> hosts token create',
    '<%= config.bin %> hosts token create --expires 2h --uses 50',
  ];
  static override flags = {
    expires: Flags.string({ description: 'how long it stays valid (1m to 30d)', default: '1h' }),
    uses: Flags.integer({ description: 'hosts it may enroll', default: 1, min: 1, max: 100_000 }),
  };

  async run(): Promise<EnrollToken> {
    const t = await createEnrollToken(this.api(), {
      expiresSeconds: Math.round(parseDuration(this.flags.expires)),
      uses: this.flags.uses,
    });
    if (!this.jsonEnabled())
      this.log(`${t.token}\n(valid until ${t.expiresTs}, ${t.uses} use${t.uses === 1 ? '' : 's'})`);
    return t;
  }
}
