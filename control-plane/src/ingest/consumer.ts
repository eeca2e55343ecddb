import type { ClickHouseClient } from '@clickhouse/client';
import type { JetStreamClient, JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { EventV1 } from '@vigil/schema';
import { EVENTS_KEPT_DAYS } from '../store/claimed-time.js';
import type { ConsumerSpec, StreamLimits } from './streams.js';
import { DetectStage, detectedSize, type Detected } from './detect-stage.js';
import { DurableConsumer, type ConsumerState } from './durable-consumer.js';
import { eventsIn, ReaderStage } from './reader-stage.js';
import { CountedQueue, MAX_INSERT_BYTES, pause, Wake, type RunState } from './stage-queue.js';
import { StoreStage, tryTo } from './store-stage.js';

export interface IngestStats {
  stored: number;
  batches: number;
  rejects: Record<string, number>;
  lastInsertError: string | null;
  storageHealthy: boolean;
  /**
   * Messages the stream dropped before the durable consumer delivered them (its limits on age or size,
   * a purge, a deletion): see StreamLoss. Counted, since nothing else would tell.
   */
  lostInStream: number;
  /**
   * Events stored at the time of their insert because the time they claim lies outside what the
   * table keeps (store/claimed-time.ts): a host clock far off, or a forged time. Their JSON keeps it.
   */
  retimed: number;
  /** The durable consumer this ingestor reads (see ConsumerState). */
  consumer: ConsumerState;
}

/** What the rest of the control plane reads of an ingestor: one stream reader, or a replica's partitions. */
export interface Ingestor {
  readonly stats: IngestStats;
  stop(): Promise<void>;
}

export interface IngestOptions {
  /**
   * Events per ClickHouse insert at most (a message holds one event or a batch of them); also what
   * each stage may hold before fetching stops (twice this). Behind a backlog inserts are this large:
   * fewer, larger parts cost the storage engine less to write and to merge (bench/ingest.mjs).
   */
  batchSize: number;
  /**
   * The longest the first message of a quiet spell waits for the messages sent with it (a sensor
   * sends a flush's execs, exits and connects as one message per kind) before the detections see
   * them; it waits only while the stream says more messages are pending for this consumer.
   */
  lingerMs?: number;
  /**
   * The longest a validated event waits for company before it is stored, when fewer than `batchSize`
   * arrive meanwhile. Every insert costs the storage engine about 8-15 ms of CPU however few rows it
   * holds (a new part on disk, merged later): inserting whatever arrives every 20 ms costs the
   * control plane twice the CPU per event of an exec storm (BENCHMARKS.md, "Inserts that wait for
   * company").
   */
  storeLingerMs?: number;
  log: Logger;
  /** Days back whose claimed times the events table stores as claimed (retention.ts); 29 by default. */
  claimDays?: () => number;
  /** The streams' limits, should the events stream itself have to be made again (it went missing). */
  streams: StreamLimits;
  /**
   * Called with the valid events of the messages that arrived together, in arrival order, once, as
   * soon as they are validated: before they are stored, so alerts do not wait for storage.
   */
  onEvents?: (events: EventV1[]) => void;
  /** Why an insert that succeeded is not kept (StorageClients.notKept): checked before acking. */
  notKept?: () => string | null;
  /** The durable consumer read: the whole stream unless told (a partition's, see PartitionedIngest). */
  consumer?: ConsumerSpec;
  /**
   * Partitions of the host space, when reading one (PartitionedIngest): a message whose subject's
   * partition is not its host's is refused (`partition-mismatch`).
   */
  partitions?: number;
}

/**
 * Consumes messages from the durable consumer (an EventBatchV1, or one bare EventV1), validates every
 * event, inserts them into ClickHouse and only then acks the messages. What can never be stored goes to
 * the dead-letter stream as the bytes it was sent as, with the reason (counted), and is acked, so the
 * consumer never stalls on it: a whole message when it is not JSON, nested too deep, of another
 * version, too large or from a host other than its subject's; a single event of a batch when only that
 * event is malformed (the rest of the batch is stored). While storage refuses, nothing is acked and the
 * batch is retried. A durable consumer that goes missing is made again (see DurableConsumer).
 *
 * Three stages joined by counted queues: the reader (reader-stage.ts) fetches into `arrived`; the
 * detect stage (detect-stage.ts) validates messages and hands them to the detections as they arrive
 * (after `lingerMs`), then queues them in `toStore`; the store stage (store-stage.ts) stores them in
 * inserts of up to `batchSize` events, at the latest `storeLingerMs` after the oldest arrived.
 * Detections see each message once; a message redelivered after a crash between detecting and storing
 * is seen again (at least once, as delivery itself).
 */
export class EventIngestor implements Ingestor {
  readonly stats: IngestStats;
  private running = false;
  private done: Promise<void> | null = null;
  /** Resolves when stop() is called: ends backoff sleeps at once. */
  private stopping: Promise<void> = new Promise(() => undefined);
  private signalStop: () => void = () => undefined;
  private stopConsume: (() => void) | null = null;
  private readonly run: RunState = { running: () => this.running, stopping: () => this.stopping };

  private readonly durable: DurableConsumer;
  private readonly storer: StoreStage;

  constructor(
    private readonly js: JetStreamClient,
    ch: ClickHouseClient,
    private readonly opts: IngestOptions,
  ) {
    this.durable = new DurableConsumer(js, opts.streams, opts.log, opts.consumer);
    this.stats = {
      stored: 0,
      batches: 0,
      rejects: {},
      lastInsertError: null,
      storageHealthy: true,
      lostInStream: 0,
      retimed: 0,
      consumer: this.durable.state,
    };
    this.storer = new StoreStage(js, ch, {
      stats: this.stats,
      log: opts.log,
      running: () => this.running,
      stopping: () => this.stopping,
      notKept: () => opts.notKept?.() ?? null,
      claimDays: () => opts.claimDays?.() ?? EVENTS_KEPT_DAYS,
    });
  }

  start(): void {
    this.running = true;
    this.stopping = new Promise((r) => {
      this.signalStop = r;
    });
    this.done = this.loop().catch((err: unknown) => {
      // Each stage guards its steps; should one still end, status says so instead of a crash.
      this.stats.consumer.healthy = false;
      this.stats.consumer.problem = `ingestion stopped: ${(err as Error).message}`;
      this.opts.log.error({ err }, 'ingestion stopped');
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.signalStop();
    this.stopConsume?.();
    await this.done;
  }

  /**
   * Runs the reader and the detect stage beside the store loop until stop(). Nothing is fetched while
   * `2 × batchSize` events (or twice MAX_INSERT_BYTES) wait in either queue. Every step is guarded per
   * message: one that throws is counted and logged, never the end of the loop.
   */
  private async loop(): Promise<void> {
    const q: Queues = {
      arrived: new CountedQueue<JsMsg>((m) => ({ events: eventsIn(m), bytes: m.data.length })),
      toStore: new CountedQueue<Detected>(detectedSize),
      drained: new Wake(),
      backoff: 250,
    };
    const { log, batchSize, lingerMs, onEvents } = this.opts;
    const reader = new ReaderStage(this.js, this.durable, q, {
      ...this.run,
      log,
      batchSize,
      acks: this.storer,
      lostInStream: (lost) => {
        this.stats.lostInStream = lost;
      },
    });
    const detector = new DetectStage(q.arrived, q.toStore, {
      ...this.run,
      log,
      batchSize,
      lingerMs,
      pending: () => reader.pending,
      onEvents,
      partitions: this.opts.partitions,
    });
    this.stopConsume = () => reader.stop();
    const reading = reader.run();
    const detecting = detector.run();
    await this.storeWhileRunning(q);
    reader.stop();
    await reading.catch(() => undefined);
    await detecting.catch(() => undefined);
    await this.storeOnStop(q);
  }

  /** Stores a batch once `batchSize` events (or MAX_INSERT_BYTES) wait, or the oldest waited `storeLingerMs`. */
  private async storeWhileRunning(q: Queues): Promise<void> {
    const storeLinger = this.opts.storeLingerMs ?? 250;
    while (this.running) {
      const oldest = q.toStore.first();
      if (oldest === undefined) {
        await pause(this.run, q.toStore.whenArrived(1000));
        continue;
      }
      const waited = performance.now() - oldest.at;
      if (q.toStore.events < this.opts.batchSize && q.toStore.bytes < MAX_INSERT_BYTES && waited < storeLinger) {
        await pause(this.run, q.toStore.whenArrived(storeLinger - waited));
        continue;
      }
      await this.storeSome(q);
    }
  }

  /**
   * Stopping: what the detections have seen is stored now (one try each; what fails comes back to the
   * next control plane), what they have not seen goes back at once.
   */
  private async storeOnStop(q: Queues): Promise<void> {
    while (q.toStore.length > 0) await this.storeSome(q);
    for (const m of q.arrived.takeAll()) tryTo(() => m.nak());
  }

  /** Stores the oldest batch of `toStore`, then wakes the reader (room for more). */
  private async storeSome(q: Queues): Promise<void> {
    const batch = q.toStore.take(this.opts.batchSize).map((d) => d.checked);
    try {
      q.backoff = await this.storer.store(batch, q.backoff, () => [
        ...q.toStore.all().map((d) => d.checked.msg),
        ...q.arrived.all(),
      ]);
    } catch (err) {
      // Not foreseen (store() guards what it knows): the messages come back after ack_wait.
      this.opts.log.error(
        { err, 'ingest.messages': batch.length },
        'storing a batch failed unexpectedly; its messages come back',
      );
      this.storer.letGo(batch.map((c) => c.msg));
    }
    q.drained.fire();
  }
}

/** The queues between the stages of one run of the loop, the store stage's signal and its backoff. */
interface Queues {
  arrived: CountedQueue<JsMsg>;
  toStore: CountedQueue<Detected>;
  /** Fired after each insert (or its failure): the reader waits on it for room. */
  drained: Wake;
  /** The store stage's backoff while storage refuses (see StoreStage.store). */
  backoff: number;
}
