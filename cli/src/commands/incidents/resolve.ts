import { IncidentTransitionCommand } from '../../incident-transition-command.js';

export default class IncidentsResolve extends IncidentTransitionCommand {
  static override description = 'Resolve an incident: it takes no more alerts (a new one opens).';
  static override examples = ['<%= config.bin %> incidents resolve 5d0c… --note "…"'];
  protected readonly action = 'resolve';
}
