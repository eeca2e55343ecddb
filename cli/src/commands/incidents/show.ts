import { Args } from '@oclif/core';
import type { IncidentDetail } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { fetchIncident, incidentText } from '../../services/incidents.js';

export default class IncidentsShow extends ApiCommand<typeof IncidentsShow> {
  static override description =
    'Show one incident: its process tree with the involved processes marked, its timeline, its alerts with their reasons, responses and history.';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> incidents show 5d0c…',
    '<%= config.bin %> incidents show 5d0c… --json',
  ];
  static override args = { id: Args.string({ required: true, description: 'incident id' }) };

  async run(): Promise<IncidentDetail> {
    const detail = await fetchIncident(this.api(), this.args.id);
    if (!this.jsonEnabled()) this.log(incidentText(detail));
    return detail;
  }
}
