import { connect } from 'nats';
import type { Logger } from 'pino';
import { closeNats, type Step } from '@vigil/schema';
import { ensureStreams, sizeEventStream } from '../ingest/streams.js';
import { streamReplicas } from '../ingest/replicas.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/** Connects to NATS, follows the link's state for the status, and makes (or resizes) the streams. */
export function natsStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'nats',
    start: async () => {
      const nc = await connect({
        name: 'vigil-control-plane',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        ...cfg.nats,
      });
      p.nc = nc;
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'disconnect') {
            p.natsLink.state = 'reconnecting';
            p.natsLink.disconnects++;
          }
          if (s.type === 'reconnect') p.natsLink.state = 'connected';
        }
      })();
      const size = sizeEventStream(
        cfg.streamMaxBytes,
        cfg.storage.kind === 'embedded' ? cfg.storage.dataDir : undefined,
      );
      const limits = p.streamLimits;
      limits.maxBytes = size.maxBytes;
      const replicas = streamReplicas(nc.info);
      limits.replicas = replicas.replicas;
      const { eventsBytes: bytes, shortfalls } = await ensureStreams(
        await nc.jetstreamManager(),
        limits,
        cfg.streamMaxBytes !== undefined,
      );
      log.info({ 'stream.replicas': replicas.replicas }, `streams replicated ${replicas.replicas}x: ${replicas.why}`);
      for (const s of shortfalls)
        log.warn(
          { 'stream.name': s.stream, 'stream.replicas': s.has, 'stream.wanted': s.wanted, err: s.error },
          `stream ${s.stream} keeps ${s.has} replica(s): the cluster refused ${s.wanted}`,
        );
      const mib = (n: number) => Math.round(n / 1024 / 1024);
      log.info(
        { 'stream.maxBytes': bytes, 'stream.maxAgeHours': limits.maxAgeHours, 'stream.sized': size.maxBytes },
        bytes === size.maxBytes
          ? `events stream keeps up to ${mib(bytes)} MiB: ${size.why}`
          : `events stream keeps up to ${mib(bytes)} MiB, as it was made (${mib(size.maxBytes)} MiB would be ${size.why}; --stream-max-mb resizes it)`,
      );
      return async () => {
        await closeNats(nc);
      };
    },
  };
}
