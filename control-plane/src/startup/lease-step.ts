import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Step } from '@vigil/schema';
import { IngestLease } from '../ingest/ingest-lease.js';
import { describeTarget } from '../store/client.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/** Replicas asked for with embedded storage: each would keep its share of the events only. */
export class ReplicasNeedServerError extends Error {
  override name = 'ReplicasNeedServerError';
  constructor() {
    super(
      'control-plane replicas need a ClickHouse server (--clickhouse URL) that they all write to: with embedded storage each would keep only the hosts it reads',
    );
  }
}

/**
 * Takes the ingest lease of the events stream before anything reads it (see IngestLease): a second
 * control plane on the same stream refuses to start. Lost later to another, ingestion stops and the
 * status says why.
 */
export function leaseStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'lease',
    start: async () => {
      const embedded = cfg.storage.kind === 'embedded';
      // Replicas lease partitions instead (startup/replicas-step.ts); embedded storage has no replicas.
      if (cfg.replicas && embedded) throw new ReplicasNeedServerError();
      if (cfg.replicas) return () => undefined;
      const lease = new IngestLease(p.nc!.jetstream(), {
        store:
          cfg.storage.kind === 'embedded'
            ? `chdb:${realpathSync(cfg.storage.dataDir)} on ${hostname()}`
            : describeTarget(cfg.storage),
        sameStoreIsUs: embedded,
        describe: describeTarget(cfg.storage),
        replicas: p.streamLimits.replicas ?? 1,
        ...(cfg.ingestLeaseSeconds !== undefined ? { ttlSeconds: cfg.ingestLeaseSeconds } : {}),
        log,
        onLost: (holder) => {
          const ingestor = p.ingestor;
          if (!ingestor) return;
          ingestor.stats.consumer.healthy = false;
          ingestor.stats.consumer.problem = `the ingest lease was lost to another control plane (pid ${holder.pid} on ${holder.machine}): ingestion stopped; restart this one once the other is gone`;
          void ingestor.stop();
        },
      });
      await lease.acquire();
      p.lease = lease;
      return () => lease.release();
    },
  };
}
