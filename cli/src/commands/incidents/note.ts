import { Args, Flags } from '@oclif/core';
import type { IncidentV1 } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { changeIncident, defaultActor } from '../../services/incidents.js';

export default class IncidentsNote extends ApiCommand<typeof IncidentsNote> {
  static override description = 'Add a note to an incident.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> incidents note 5d0c… "killed the miner, reimaging the node"'];
  static override args = {
    id: Args.string({ required: true, description: 'incident id' }),
    text: Args.string({ required: true, description: 'the note' }),
  };
  static override flags = { by: Flags.string({ description: 'who, for the audit', default: defaultActor() }) };

  async run(): Promise<IncidentV1> {
    const inc = await changeIncident(this.api(), this.args.id, 'notes', { by: this.flags.by, text: this.args.text });
    if (!this.jsonEnabled()) this.log(`${inc.id}: note added (v${inc.version})`);
    return inc;
  }
}
