import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { heartbeatSubject, type HeartbeatV1 } from '@vigil/schema';
import { readCpuSeconds, readRssBytes } from '../host/procfs.js';
import type { ProbeName } from '../probes/registry.js';
import type { ProbeSupervisor } from '../probes/supervisor.js';
import type { Counters } from '../counters.js';
import type { StageLatency } from '../latency.js';
import type { KtimeClock } from '../assemble/clock.js';
import type { EventPublisher } from './publisher.js';

/** What a heartbeat reports on, read at each beat. */
export interface HeartbeatSources {
  host: string;
  sensorVersion: string;
  clock: KtimeClock;
  counters: Counters;
  latency: StageLatency;
  supervisors: ReadonlyMap<ProbeName, ProbeSupervisor>;
  publisher: () => EventPublisher | null;
  processCacheSize: () => number;
  heldToTimeout: () => number;
  compilerRssReleasedBytes: () => number;
}

/** The running bpftrace processes, each once: probes composed into one process share its pid. */
function probePids(supervisors: ReadonlyMap<ProbeName, ProbeSupervisor>): number[] {
  return [...new Set([...supervisors.values()].map((s) => s.pid))].filter((pid): pid is number => pid !== undefined);
}

function sumOverProbes(
  supervisors: ReadonlyMap<ProbeName, ProbeSupervisor>,
  read: (pid: number) => number | null | undefined,
): number {
  return probePids(supervisors).reduce((sum, pid) => sum + (read(pid) ?? 0), 0);
}

function cpuSeconds(supervisors: ReadonlyMap<ProbeName, ProbeSupervisor>) {
  const { user, system } = process.cpuUsage();
  // Exited bpftraces (restarts) count through the sensor's reaped children; running ones by pid.
  const running = sumOverProbes(supervisors, (pid) => readCpuSeconds(pid)?.self);
  return {
    processCpuSeconds: (user + system) / 1e6,
    probeCpuSeconds: running + (readCpuSeconds('self')?.reapedChildren ?? 0),
  };
}

/** Builds this run's heartbeats: counters, footprint, probe states and latency, numbered by `seq`. */
export function heartbeatBuilder(src: HeartbeatSources): () => HeartbeatV1 {
  const startedTs = src.clock.nowWall();
  // Numbers this run's heartbeats (HeartbeatV1.seq): a re-published copy of one is not newer.
  let seq = 0;
  return () => {
    const { counters, supervisors } = src;
    const publisher = src.publisher();
    return {
      v: 1,
      host: src.host,
      ts: src.clock.nowWall(),
      sensorVersion: src.sensorVersion,
      startedTs,
      sensorPid: process.pid,
      seq: seq++,
      counters: {
        recordsRead: counters.recordsRead,
        eventsPublished: counters.eventsPublished,
        eventsDropped: counters.eventsDropped,
        lostEvents: counters.lostEvents,
        rejects: counters.rejectsObject(),
        queueDepth: publisher?.depth ?? 0,
        spoolBytes: publisher?.spooled.bytes ?? 0,
        spoolEvents: publisher?.spooled.events ?? 0,
        processCacheSize: src.processCacheSize(),
        heldToTimeout: src.heldToTimeout(),
      },
      footprint: {
        processRssBytes: process.memoryUsage.rss(),
        probeRssBytes: sumOverProbes(supervisors, readRssBytes),
        compilerRssReleasedBytes: src.compilerRssReleasedBytes(),
        ...cpuSeconds(supervisors),
      },
      // Probes sharing one bpftrace process share its state (and pid).
      probes: [...supervisors.entries()].map(([name, s]) => ({ ...s.state, name, ...(s.pid ? { pid: s.pid } : {}) })),
      latency: src.latency.snapshot(),
    };
  };
}

/** Publishes a heartbeat now and every `seconds`, and a last one marked `stopping` when stopped. */
export function startHeartbeats(opts: {
  host: string;
  seconds: number;
  nc: () => NatsConnection | null;
  beat: () => HeartbeatV1;
  log: Logger;
  /** Given the send: a probe that stalls or restarts is told at once, not at the next beat. */
  sendNow?: (send: () => void) => void;
}): () => void {
  const send = (stopping = false) => {
    try {
      opts
        .nc()
        ?.publish(
          heartbeatSubject(opts.host),
          JSON.stringify(stopping ? { ...opts.beat(), stopping: true } : opts.beat()),
        );
    } catch (err) {
      opts.log.warn({ err }, 'heartbeat not sent');
    }
  };
  send();
  opts.sendNow?.(() => send());
  const t = setInterval(send, opts.seconds * 1000);
  return () => {
    clearInterval(t);
    send(true);
  };
}
