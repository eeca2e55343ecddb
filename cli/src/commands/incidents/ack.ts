import { Args, Flags } from '@oclif/core';
import type { IncidentV1 } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { changeIncident, defaultActor } from '../../services/incidents.js';

export default class IncidentsAck extends ApiCommand<typeof IncidentsAck> {
  static override description = 'Acknowledge an open incident (someone is on it).';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> incidents ack 5d0c… --note "…"'];
  static override args = { id: Args.string({ required: true, description: 'incident id' }) };
  static override flags = {
    note: Flags.string({ description: 'a note kept with the change' }),
    by: Flags.string({ description: 'who, for the audit', default: defaultActor() }),
  };

  async run(): Promise<IncidentV1> {
    const { flags } = this;
    const inc = await changeIncident(this.api(), this.args.id, 'ack', { by: flags.by, note: flags.note });
    if (!this.jsonEnabled()) this.log(`${inc.id} is ${inc.status} (v${inc.version})`);
    return inc;
  }
}
