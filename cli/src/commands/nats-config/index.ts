import { join } from 'node:path';
import { Command, Flags } from '@oclif/core';
import { enrollStateDir, natsAuthConfig } from '../../services/central-auth.js';
import { dataDirFromEnv, secureDir } from '../../services/local-secrets.js';

export default class NatsConfig extends Command {
  static override description =
    "Print the operator-mode authorization for a nats-server or cluster you run (operator, system account, a full resolver with Vigil's account), from the NATS operator keys in --secrets (made at the first run, root only). Start the control plane with `vigil control-plane --nats-secrets DIR` and it connects with a user JWT of its own and enrolls hosts.";
  static override examples = [
    '<%= config.bin %> nats-config --secrets /var/lib/vigil/nats-secrets > /etc/nats/vigil-auth.conf',
  ];
  static override flags = {
    secrets: Flags.string({
      description: 'folder of the NATS operator keys (nats-operator.json; created 0700 when absent)',
      default: join(dataDirFromEnv(), 'nats-secrets'),
    }),
    'resolver-dir': Flags.string({
      description: "where nats-server keeps the account JWTs it is sent (on the NATS server's host)",
      default: '/data/nats-accounts',
    }),
    'data-dir': Flags.string({
      description:
        "the control plane's data folder: the revocations of hosts it enrolled are read from <data-dir>/enroll",
      default: join(dataDirFromEnv(), 'clickhouse'),
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NatsConfig);
    try {
      secureDir(flags.secrets, null);
      process.stdout.write(
        await natsAuthConfig(flags.secrets, flags['resolver-dir'], enrollStateDir(flags['data-dir'])),
      );
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }
}
