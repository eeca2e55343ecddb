import { Args, Flags } from '@oclif/core';
import type { IncidentV1 } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { changeIncident, defaultActor } from '../../services/incidents.js';

export default class IncidentsReopen extends ApiCommand<typeof IncidentsReopen> {
  static override description = 'Reopen an acknowledged or resolved incident.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> incidents reopen 5d0c… --note "…"'];
  static override args = { id: Args.string({ required: true, description: 'incident id' }) };
  static override flags = {
    note: Flags.string({ description: 'a note kept with the change' }),
    by: Flags.string({ description: 'who, for the audit', default: defaultActor() }),
  };

  async run(): Promise<IncidentV1> {
    const { flags } = this;
    const inc = await changeIncident(this.api(), this.args.id, 'reopen', { by: flags.by, note: flags.note });
    if (!this.jsonEnabled()) this.log(`${inc.id} is ${inc.status} (v${inc.version})`);
    return inc;
  }
}
