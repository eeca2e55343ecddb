import { ApiCommand } from '../../base-command.js';
import { fetchStatus } from '../../services/api-client.js';
import type { StatusReport } from '@vigil/schema';
import { latencyLine, nsToIso, printable, table } from '../../services/render.js';

const CLOCK_SKEW_SHOWN_S = 5;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export default class Status extends ApiCommand<typeof Status> {
  static override description =
    "Each sensor's last heartbeat, counters and probe states; the control plane's storage and ingest.";
  static override enableJsonFlag = true;

  async run(): Promise<StatusReport> {
    const s = await fetchStatus(this.api());
    if (!this.jsonEnabled()) {
      const cp = s.controlPlane;
      this.log(
        printable(
          `control plane ${cp.version}: storage ${cp.storage} (${cp.storageHealthy ? 'healthy' : `FAILING: ${cp.lastInsertError}`}), NATS ${cp.nats}, ${cp.stored} events stored${cp.inserts !== undefined ? ` in ${cp.inserts} inserts` : ''}, rejected ${JSON.stringify(cp.rejects)}${cp.lostInStream ? `, ${cp.lostInStream} messages LOST in NATS (stream limits)` : ''}${cp.retimed ? `, ${cp.retimed} stored at arrival (their time outside what storage keeps: a host clock off?)` : ''}`,
        ),
      );
      if (cp.consumer && !cp.consumer.healthy) this.log(printable(`INGESTION STOPPED: ${cp.consumer.problem}`));
      if (cp.config)
        this.log(
          printable(
            `config ${cp.config.path} (loaded ${cp.config.loadedTs}, ${cp.config.reloads} reloads)${cp.config.lastError ? `; RELOAD REFUSED, previous version in force: ${cp.config.lastError}` : ''}`,
          ),
        );
      if (cp.suppressed?.total || cp.suppressed?.expired?.length)
        this.log(
          printable(
            `suppressed alerts: ${cp.suppressed.total} (vigil alerts --suppressed)${cp.suppressed.expired?.length ? `; EXPIRED suppressions: ${cp.suppressed.expired.map((e) => `suppressions[${e.index}] (${e.rule}, ${e.expires})`).join(', ')}` : ''}`,
          ),
        );
      const hbRejects = Object.entries(cp.heartbeatRejects ?? {});
      if (hbRejects.length)
        this.log(printable(`heartbeats refused: ${hbRejects.map(([k, v]) => `${k}=${v}`).join(' ')}`));
      for (const o of cp.outputs ?? [])
        this.log(
          printable(
            `output ${o.name} (${o.type}): sent ${o.sent}, failed ${o.failed}, retrying ${o.retrying}, dead-lettered ${o.deadLettered}${o.lastError ? `; last error: ${o.lastError}` : ''}`,
          ),
        );
      this.log('');
      this.log(
        s.sensors.length === 0
          ? 'no sensor has reported yet'
          : table(
              [
                'HOST',
                'VERSION',
                'LAST HEARTBEAT',
                'AGE',
                'READ',
                'PUBLISHED',
                'DROPPED',
                'LOST',
                'QUEUE',
                'SPOOL',
                'RSS',
                'CPU',
                'PROBES',
              ],
              s.sensors.map((x) => [
                x.host,
                x.sensorVersion,
                nsToIso(x.ts),
                `${x.ageSeconds.toFixed(0)}s${x.silent ? ' SILENT' : x.stopped ? ' STOPPED' : ''}`,
                String(x.counters.recordsRead),
                String(x.counters.eventsPublished),
                String(x.counters.eventsDropped),
                String(x.counters.lostEvents),
                String(x.counters.queueDepth),
                `${x.counters.spoolEvents ?? 0} (${((x.counters.spoolBytes ?? 0) / 1024 / 1024).toFixed(1)} MiB)`,
                // The sensor's node process and its bpftrace together; `*`: a process shared with the control plane (told below).
                x.footprint
                  ? `${mib(x.footprint.processRssBytes + x.footprint.probeRssBytes)}${x.sharesControlPlaneProcess ? '*' : ''}`
                  : '-',
                // Of one core, between the sensor's last two heartbeats (its bpftrace included).
                x.cpuCores !== undefined
                  ? `${(x.cpuCores * 100).toFixed(1)}%${x.sharesControlPlaneProcess ? '*' : ''}`
                  : '-',
                x.probes
                  .map(
                    (p) =>
                      `${p.name}:${p.state}${p.restarts ? `(${p.restarts} restarts)` : ''}${p.blinds ? `(${p.blinds} blind)` : ''}`,
                  )
                  .join(' '),
              ]),
              120,
            ),
      );
      for (const x of s.sensors) {
        if (x.sharesControlPlaneProcess && x.footprint) {
          this.log(
            printable(
              `${x.host} * shares its process with the control plane and its embedded ClickHouse: RSS and CPU are the whole process's (${mib(x.footprint.processRssBytes)}, the sensor's part not measured apart) plus its bpftrace's (${mib(x.footprint.probeRssBytes)})`,
            ),
          );
        }
        const rej = Object.entries(x.counters.rejects);
        if (rej.length) this.log(printable(`${x.host} rejects: ${rej.map(([k, v]) => `${k}=${v}`).join(' ')}`));
        for (const p of x.probes) {
          if (p.lastError && p.state !== 'running') this.log(printable(`${x.host} ${p.name}: ${p.lastError}`));
          const last = p.recentBlinds?.at(-1);
          if (p.blinds && last)
            this.log(
              printable(
                `${x.host} ${p.name}: ${p.blinds} blind interval(s); last ${nsToIso(last.fromTs)} to ${nsToIso(last.toTs)} (${(Number(BigInt(last.toTs) - BigInt(last.fromTs)) / 1e9).toFixed(1)} s, ${last.cause === 'exit' ? 'restarted' : 'stalled, resumed'})`,
              ),
            );
        }
        const skew = x.clockSkewSeconds ?? 0;
        // Past a few seconds (the heartbeat's own transit is milliseconds): its events' times are off too.
        if (Math.abs(skew) >= CLOCK_SKEW_SHOWN_S)
          this.log(
            `${x.host} clock: ${Math.abs(skew).toFixed(0)} s ${skew > 0 ? 'ahead of' : 'behind'} the control plane's; its events carry that host's times`,
          );
        const lat = latencyLine(x.latency);
        if (lat) this.log(printable(`${x.host} latency since start, p50/p99 ms: ${lat}`));
      }
    }
    return s;
  }
}
