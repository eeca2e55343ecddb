import { IncidentTransitionCommand } from '../../incident-transition-command.js';

export default class IncidentsAck extends IncidentTransitionCommand {
  static override description = 'Acknowledge an open incident (someone is on it).';
  static override examples = ['<%= config.bin %> incidents ack 5d0c… --note "…"'];
  protected readonly action = 'ack';
}
