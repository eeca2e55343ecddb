import { connect, type ConnectionOptions, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { closeNats } from '@vigil/schema';
import type { Counters } from '../counters.js';
import type { StageLatency } from '../latency.js';
import { EventPublisher } from './publisher.js';
import { DiskSpool } from './spool.js';

export interface ExportOptions {
  host: string;
  nats: ConnectionOptions;
  maxQueue: number;
  spoolDir?: string;
  spoolMaxBytes: number;
  counters: Counters;
  latency: StageLatency;
  log: Logger;
}

export interface RunningExport {
  publisher: EventPublisher;
  /** The NATS connection, once made. */
  nc: () => NatsConnection | null;
  stop: () => Promise<void>;
}

/**
 * Starts the event publisher (replaying what an earlier run spooled) and connects to NATS in the
 * background: tracing must not wait for NATS, so events queue (and spool) until it answers.
 */
export function startExport(o: ExportOptions): RunningExport {
  const { log } = o;
  const spool = o.spoolDir ? new DiskSpool({ dir: o.spoolDir, maxBytes: o.spoolMaxBytes }) : undefined;
  if (spool && !spool.empty)
    log.info(
      { 'spool.events': spool.events, 'spool.bytes': spool.bytes },
      'replaying events spooled by an earlier run',
    );
  const publisher = new EventPublisher(null, {
    maxQueue: o.maxQueue,
    log,
    counters: o.counters,
    latency: o.latency,
    ...(spool ? { spool } : {}),
  });
  publisher.start();
  let nc: NatsConnection | null = null;
  let stopped = false;
  const connected = (async () => {
    let attempts = 0;
    while (!stopped) {
      try {
        nc = await connect({
          name: `vigil-sensor-${o.host}`,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          ...o.nats,
        });
        publisher.attach(nc.jetstream());
        log.info({ 'nats.attempts': attempts + 1 }, 'connected to NATS');
        return;
      } catch (err) {
        if (attempts++ % 30 === 0)
          log.warn({ err, 'nats.attempts': attempts }, 'NATS unreachable; events are queued and spooled meanwhile');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return {
    publisher,
    nc: () => nc,
    stop: async () => {
      stopped = true;
      await publisher.stop();
      await Promise.race([connected, new Promise((r) => setTimeout(r, 1000))]);
      if (nc) await closeNats(nc);
    },
  };
}
