import type { ClickHouseClient } from '@clickhouse/client';
import type { JetStreamClient } from 'nats';
import {
  DEFAULT_PARTITIONS,
  EVENTS_STREAM,
  partitionedEventsMapping,
  partitionEventsFilter,
  partitionOfHost,
} from '@vigil/schema';
import { EventIngestor, type IngestOptions, type IngestStats, type Ingestor } from './consumer.js';
import { PartitionLeases } from './partition-leases.js';
import { CONSUMER_NAME, ensureConsumer, type ConsumerSpec } from './streams.js';

export interface PartitionedIngestOptions extends IngestOptions {
  /** The partition leases' life without renewal (DEFAULT_INGEST_LEASE_SECONDS). */
  ttlSeconds?: number;
  /** The control-plane bucket's replicas. */
  kvReplicas: number;
  /** The storage, as said to the user. */
  describe: string;
  /** How long a delivered message waits for its ack before another reader gets it (60 s unless told). */
  ackWaitMs?: number;
  /**
   * A partition was given up or lost: the per-host detection state of its hosts goes (`isIn` says which),
   * since the events that follow reach another replica.
   */
  onDropped?: (partition: number, isIn: (host: string) => boolean) => void;
}

/** Events as the sensor publishes them, before the server's partition mapping. */
const UNPARTITIONED_EVENTS = 'vigil.events.*.*';

const unmappedAdvice = (partitions: number): string =>
  `give the NATS account the mapping ${JSON.stringify(partitionedEventsMapping(partitions))} (docs/operations.md, "Control-plane replicas")`;

type Counts = Pick<IngestStats, 'stored' | 'batches' | 'lostInStream' | 'retimed' | 'rejects'>;

/** One partition's durable consumer. */
export const partitionConsumer = (partition: number, ackWaitMs?: number): ConsumerSpec => ({
  name: `${CONSUMER_NAME}-p${partition}`,
  filter: partitionEventsFilter(partition),
  ...(ackWaitMs !== undefined ? { ackWaitMs } : {}),
});

/**
 * The events stream read by one of several control-plane replicas that share a ClickHouse server: an
 * EventIngestor per partition this replica leases (PartitionLeases), each on its partition's durable
 * consumer. A host's events all land in one partition (the server maps its subject), so each host's
 * detection state lives in the one replica that reads it. A partition given up is stopped first: what
 * its detections saw is stored and acked, what they had not seen goes back, and the next holder
 * opens the durable consumer where it stands, so its stream-loss accounting starts there (nothing
 * delivered before is a gap). What a dead replica read and had not acked comes to the next holder
 * after the ack wait, as redeliveries: counted neither as first deliveries nor as loss.
 */
export class PartitionedIngest implements Ingestor {
  readonly leases: PartitionLeases;
  private readonly readers = new Map<number, EventIngestor>();
  /** What the stopped readers counted, so the totals survive hand-overs. */
  private readonly past: Counts = { stored: 0, batches: 0, lostInStream: 0, retimed: 0, rejects: {} };
  readonly partitions: number;
  /** Events on unpartitioned subjects at the last look (checkUnmapped). */
  private unmapped = 0;
  /** Unpartitioned events held at the first look, or fewer since (the stream dropped them). */
  private unmappedBefore: number | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly ch: ClickHouseClient,
    private readonly opts: PartitionedIngestOptions,
  ) {
    this.partitions = opts.partitions ?? DEFAULT_PARTITIONS;
    this.leases = new PartitionLeases(
      js,
      { take: (p) => this.take(p), give: (p) => this.give(p) },
      {
        partitions: this.partitions,
        replicas: opts.kvReplicas,
        describe: opts.describe,
        log: opts.log,
        ...(opts.ttlSeconds !== undefined ? { ttlSeconds: opts.ttlSeconds } : {}),
      },
    );
  }

  /** Joins the replicas (refused while a single control plane holds the stream) and reads its share. */
  start(): Promise<void> {
    return this.leases.start();
  }

  async stop(): Promise<void> {
    await this.leases.stop();
  }

  /** The partitions this replica reads now. */
  held(): number[] {
    return this.leases.partitions();
  }

  /**
   * Counts the events that arrived on unpartitioned subjects (`vigil.events.<host>.<kind>`) since the
   * first look: the server lacks the partition mapping, and no replica reads them. Those held at the
   * first look are left out (a single control plane read them before replicas ran). Said in the log
   * and the status.
   */
  async checkUnmapped(): Promise<number> {
    const jsm = await this.js.jetstreamManager();
    const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: UNPARTITIONED_EVENTS });
    const held = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    this.unmappedBefore = Math.min(this.unmappedBefore ?? held, held);
    const n = held - this.unmappedBefore;
    if (n > 0 && this.unmapped === 0)
      this.opts.log.error(
        { 'ingest.unmapped': n },
        `the events stream holds ${n} events the server did not map to a partition: no replica reads them (${unmappedAdvice(this.partitions)})`,
      );
    this.unmapped = n;
    return n;
  }

  /** Whether `host`'s events reach this replica now. */
  reads(host: string): boolean {
    return this.readers.has(partitionOfHost(host, this.partitions));
  }

  /** The readers' counts summed, the stopped ones' included; the consumer state of the first unhealthy one. */
  get stats(): IngestStats {
    const all: Counts[] = [this.past, ...[...this.readers.values()].map((r) => r.stats)];
    const rejects: Record<string, number> = {};
    for (const s of all) for (const [k, n] of Object.entries(s.rejects)) rejects[k] = (rejects[k] ?? 0) + n;
    const live = [...this.readers.values()].map((r) => r.stats);
    const sick = live.find((s) => !s.consumer.healthy);
    const sum = (f: (s: Counts) => number) => all.reduce((n, s) => n + f(s), 0);
    return {
      stored: sum((s) => s.stored),
      batches: sum((s) => s.batches),
      rejects,
      lastInsertError: live.find((s) => s.lastInsertError)?.lastInsertError ?? null,
      storageHealthy: live.every((s) => s.storageHealthy),
      lostInStream: sum((s) => s.lostInStream),
      retimed: sum((s) => s.retimed),
      consumer: (this.unmapped > 0
        ? {
            healthy: false,
            problem: `${this.unmapped} events in the stream are not mapped to a partition, and no replica reads them: ${unmappedAdvice(this.partitions)}`,
            recreated: 0,
            lastProblem: null,
          }
        : null) ??
        sick?.consumer ??
        live[0]?.consumer ?? { healthy: true, problem: null, recreated: 0, lastProblem: null },
    };
  }

  private async take(partition: number): Promise<void> {
    const spec = partitionConsumer(partition, this.opts.ackWaitMs);
    await ensureConsumer(await this.js.jetstreamManager(), spec);
    const reader = new EventIngestor(this.js, this.ch, {
      ...this.opts,
      log: this.opts.log.child({ 'ingest.partition': partition }),
      consumer: spec,
      partitions: this.partitions,
    });
    this.readers.set(partition, reader);
    reader.start();
  }

  private async give(partition: number): Promise<void> {
    const reader = this.readers.get(partition);
    this.readers.delete(partition);
    if (reader) {
      await reader.stop();
      const s = reader.stats;
      this.past.stored += s.stored;
      this.past.batches += s.batches;
      this.past.lostInStream += s.lostInStream;
      this.past.retimed += s.retimed;
      for (const [k, n] of Object.entries(s.rejects)) this.past.rejects[k] = (this.past.rejects[k] ?? 0) + n;
    }
    this.opts.onDropped?.(partition, (host) => partitionOfHost(host, this.partitions) === partition);
  }
}
