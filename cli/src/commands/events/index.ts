import { Command, Flags } from '@oclif/core';
import { EVENT_KINDS, type EventV1 } from '@vigil/schema';
import { apiTarget, fetchEvents } from '../../services/api-client.js';
import { sinceToNs } from '../../services/duration.js';
import { eventsTable } from '../../services/render.js';
import { apiFlag } from '../../services/flags.js';

export default class Events extends Command {
  static override description = 'Show events stored by the control plane, newest first.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> events --kind exec --since 10m', '<%= config.bin %> events --kind connect --comm curl --json'];
  static override flags = {
    kind: Flags.string({ options: [...EVENT_KINDS] }),
    comm: Flags.string({ description: 'process name (comm)' }),
    pid: Flags.integer({ min: 0 }),
    host: Flags.string(),
    since: Flags.string({ description: 'only events newer than this (30s, 10m, 1h, 2d)' }),
    limit: Flags.integer({ default: 100, min: 1, max: 10000 }),
    api: apiFlag,
  };

  async run(): Promise<EventV1[]> {
    const { flags } = await this.parse(Events);
    try {
      const events = await fetchEvents(apiTarget(flags.api), {
        kind: flags.kind, comm: flags.comm, pid: flags.pid, host: flags.host, limit: flags.limit,
        sinceNs: flags.since ? sinceToNs(flags.since) : undefined,
      });
      if (!this.jsonEnabled()) this.log(events.length ? eventsTable(events) : 'no events match');
      return events;
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }
}
