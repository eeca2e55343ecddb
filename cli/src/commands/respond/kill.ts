import { Flags } from '@oclif/core';
import type { ResponseRecordV1 } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { postRespond } from '../../services/api-client.js';
import { orderingUser, responseSucceeded, responseText } from '../../services/respond.js';

export default class RespondKill extends ApiCommand<typeof RespondKill> {
  static override description =
    "Order a host's sensor to kill a process (SIGKILL), or with --tree the process and its descendants (stopped first, killed leaves first). The sensor refuses a pid reused since (start time), pid 1, kernel threads, itself and Vigil's own processes. Prints the outcome; exits 1 unless the process was killed (or, with --dry-run, would have been).";
  static override enableJsonFlag = true;
  static override examples = [
    'sudo <%= config.bin %> respond kill --host gpu-7 --pid 4242 --reason "miner"',
    'sudo <%= config.bin %> respond kill --host gpu-7 --pid 4242 --tree --dry-run',
  ];
  static override flags = {
    host: Flags.string({ description: 'host id of the target', required: true }),
    pid: Flags.integer({ description: 'process id on that host', required: true, min: 1 }),
    tree: Flags.boolean({ description: 'kill its descendants too', default: false }),
    'dry-run': Flags.boolean({ description: 'only report what would be killed', default: false }),
    incident: Flags.string({ description: 'the incident this response belongs to' }),
    reason: Flags.string({ description: 'why (kept in the audit)', default: '' }),
    'start-ts': Flags.string({
      description:
        "the target's start time (ns since the epoch, as its events carry it); default: from its newest stored event",
    }),
  };

  async run(): Promise<ResponseRecordV1> {
    const { flags } = this;
    const record = await postRespond(this.api(), {
      host: flags.host,
      pid: flags.pid,
      ...(flags['start-ts'] ? { startTs: flags['start-ts'] } : {}),
      action: flags.tree ? 'kill-tree' : 'kill',
      by: orderingUser(),
      reason: flags.reason,
      ...(flags.incident ? { incidentId: flags.incident } : {}),
      dryRun: flags['dry-run'],
    });
    if (!this.jsonEnabled()) this.log(responseText(record));
    if (!responseSucceeded(record)) process.exitCode = 1;
    return record;
  }
}
