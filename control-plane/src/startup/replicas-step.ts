import type { Logger } from 'pino';
import type { Step } from '@vigil/schema';
import { PartitionedIngest } from '../ingest/partitioned-ingest.js';
import { describeTarget } from '../store/client.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';
import { claimDaysOf, eventsTo } from './pipeline-steps.js';

/** How often a replica looks for events the server did not map to a partition (nobody would read them). */
const UNMAPPED_CHECK_MS = 30_000;

/**
 * Ingestion as one of several control-plane replicas (`--replicas`): joins the others, reads the
 * partitions it leases (PartitionedIngest), and forgets the detection state of the hosts of a partition
 * it gives up. Refused while a single control plane reads the stream. Says so, in the log and the
 * status, when the events stream holds events the server did not map to a partition.
 */
export function replicasStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'replicas',
    start: async () => {
      const ingest = new PartitionedIngest(p.nc!.jetstream(), p.ch!.writer, {
        batchSize: cfg.batchSize ?? 10_000,
        ...(cfg.storeLingerMs !== undefined ? { storeLingerMs: cfg.storeLingerMs } : {}),
        ...(cfg.detectLingerMs !== undefined ? { lingerMs: cfg.detectLingerMs } : {}),
        ...(cfg.replicas?.partitions !== undefined ? { partitions: cfg.replicas.partitions } : {}),
        ...(cfg.ingestLeaseSeconds !== undefined ? { ttlSeconds: cfg.ingestLeaseSeconds } : {}),
        log,
        streams: p.streamLimits,
        kvReplicas: p.streamLimits.replicas ?? 1,
        describe: describeTarget(cfg.storage),
        notKept: () => p.ch!.notKept(),
        claimDays: claimDaysOf(p),
        onEvents: eventsTo(p),
        onDropped: (partition, isIn) => {
          const processes = p.engine?.forgetHosts(isIn) ?? 0;
          log.info(
            { 'ingest.partition': partition, 'detect.processes': processes },
            'detection state of a partition given up dropped',
          );
        },
      });
      await ingest.start();
      p.ingestor = ingest;
      log.info(
        { 'ingest.partitions': ingest.held() },
        `reading ${ingest.held().length} of ${ingest.partitions} partitions as a replica`,
      );
      const check = () =>
        void ingest.checkUnmapped().catch((err: unknown) => log.warn({ err }, 'looking for unmapped events failed'));
      check();
      const timer = setInterval(check, UNMAPPED_CHECK_MS);
      return async () => {
        clearInterval(timer);
        await ingest.stop();
      };
    },
  };
}
