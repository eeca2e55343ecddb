import { Args, Flags } from '@oclif/core';
import type { IncidentV1 } from '@vigil/schema';
import { ApiCommand } from './base-command.js';
import { changeIncident, defaultActor, type IncidentAction } from './services/incidents.js';

/** `vigil incidents ack|resolve|reopen ID`: one status change, with who made it and an optional note. */
export abstract class IncidentTransitionCommand extends ApiCommand<typeof IncidentTransitionCommand> {
  static override enableJsonFlag = true;
  static override args = { id: Args.string({ required: true, description: 'incident id' }) };
  static override flags = {
    note: Flags.string({ description: 'a note kept with the change' }),
    by: Flags.string({ description: 'who, for the audit', default: defaultActor() }),
  };

  /** The transition this command asks for. */
  protected abstract readonly action: IncidentAction;

  async run(): Promise<IncidentV1> {
    const { flags } = this;
    const inc = await changeIncident(this.api(), this.args.id, this.action, { by: flags.by, note: flags.note });
    if (!this.jsonEnabled()) this.log(`${inc.id} is ${inc.status} (v${inc.version})`);
    return inc;
  }
}
