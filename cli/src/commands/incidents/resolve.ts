import { Args, Flags } from '@oclif/core';
import type { IncidentV1 } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { changeIncident, defaultActor } from '../../services/incidents.js';

export default class IncidentsResolve extends ApiCommand<typeof IncidentsResolve> {
  static override description = 'Resolve an incident: it takes no more alerts (a new one opens).';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> incidents resolve 5d0c… --note "…"'];
  static override args = { id: Args.string({ required: true, description: 'incident id' }) };
  static override flags = {
    note: Flags.string({ description: 'a note kept with the change' }),
    by: Flags.string({ description: 'who, for the audit', default: defaultActor() }),
  };

  async run(): Promise<IncidentV1> {
    const { flags } = this;
    const inc = await changeIncident(this.api(), this.args.id, 'resolve', { by: flags.by, note: flags.note });
    if (!this.jsonEnabled()) this.log(`${inc.id} is ${inc.status} (v${inc.version})`);
    return inc;
  }
}
