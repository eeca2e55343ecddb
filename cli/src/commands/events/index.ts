import { Flags } from '@oclif/core';
import { EVENT_KINDS, MAX_LIST_LIMIT, type EventQuery, type EventV1 } from '@vigil/schema';
import { ApiCommand } from '../../base-command.js';
import { fetchEvents, followEvents } from '../../services/api-client.js';
import { timeToNs } from '../../services/duration.js';
import { eventsTable } from '../../services/render.js';

export default class Events extends ApiCommand<typeof Events> {
  static override description =
    'Show events stored by the control plane, newest first, or stream them live with --follow. Filters apply on the control plane, to stored and live events alike.';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> events --kind exec --since 10m',
    '<%= config.bin %> events --kind connect --comm curl --json',
    '<%= config.bin %> events --failed --since 1h',
    '<%= config.bin %> events --follow --job slurm:4242 --json',
  ];
  static override flags = {
    kind: Flags.option({ options: EVENT_KINDS })(),
    comm: Flags.string({ description: 'process name (comm)' }),
    pid: Flags.integer({ min: 0 }),
    uid: Flags.integer({ min: 0, description: 'user id of the process' }),
    exe: Flags.string({ description: 'executable path: for an exec the file it tried to run' }),
    job: Flags.string({ description: 'scheduler job, as the cgroup names it (slurm:4242, k8s:…)' }),
    container: Flags.string({ description: 'container id, or its first characters' }),
    host: Flags.string(),
    failed: Flags.boolean({
      allowNo: true,
      description:
        'only execs that failed (execve returned an error, e.g. each ENOENT of a PATH lookup); --no-failed: all but those',
    }),
    since: Flags.string({
      description:
        'only events at or after this: a duration back (30s, 10m, 1h, 2d) or a date-time (2024-05-01T12:00:00Z)',
      exclusive: ['follow'],
    }),
    until: Flags.string({ description: 'only events before this (same forms as --since)', exclusive: ['follow'] }),
    limit: Flags.integer({ default: 100, min: 1, max: MAX_LIST_LIMIT }),
    follow: Flags.boolean({
      char: 'f',
      description: 'stream events as the control plane receives them (with --json: one object per line) until Ctrl-C',
    }),
  };

  async run(): Promise<EventV1[] | undefined> {
    const { flags } = this;
    const api = this.api();
    const q: EventQuery = {
      kind: flags.kind,
      comm: flags.comm,
      pid: flags.pid,
      uid: flags.uid,
      exe: flags.exe,
      job: flags.job,
      container: flags.container,
      host: flags.host,
      failed: flags.failed,
    };
    if (flags.follow) {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followEvents(
        api,
        q,
        (ev) => {
          // --json with --follow: one object per line (oclif silences this.log under --json).
          process.stdout.write(`${this.jsonEnabled() ? JSON.stringify(ev) : eventsTable([ev]).split('\n')[1]!}\n`);
        },
        stop.signal,
      );
      return;
    }
    const events = await fetchEvents(api, {
      ...q,
      limit: flags.limit,
      sinceNs: flags.since ? timeToNs(flags.since) : undefined,
      untilNs: flags.until ? timeToNs(flags.until) : undefined,
    });
    if (!this.jsonEnabled()) this.log(events.length ? eventsTable(events) : 'no events match');
    return events;
  }
}
