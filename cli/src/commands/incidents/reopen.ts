import { IncidentTransitionCommand } from '../../incident-transition-command.js';

export default class IncidentsReopen extends IncidentTransitionCommand {
  static override description = 'Reopen an acknowledged or resolved incident.';
  static override examples = ['<%= config.bin %> incidents reopen 5d0c… --note "…"'];
  protected readonly action = 'reopen';
}
