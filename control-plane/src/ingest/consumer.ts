import type { ClickHouseClient } from '@clickhouse/client';
import type { Consumer, JetStreamClient, JsMsg } from 'nats';
import type { Logger } from 'pino';
import { EVENTS_HEADER, type EventV1 } from '@vigil/schema';
import type { StreamLimits } from './streams.js';
import { checkMessage } from './check.js';
import { DurableConsumer, type ConsumerState } from './durable-consumer.js';
import { StoreStage, tryTo, type Checked } from './store-stage.js';
import { StreamLoss } from './stream-loss.js';

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
   * holds (a new part on disk, merged later): inserting whatever arrived every 20 ms cost the
   * control plane twice the CPU per event of an exec storm (bench/BENCHMARKS.md).
   */
  storeLingerMs?: number;
  log: Logger;
  /** The streams' limits, should the events stream itself have to be made again (it went missing). */
  streams: StreamLimits;
  /**
   * Called with the valid events of the messages that arrived together, in arrival order, once, as
   * soon as they are validated: before they are stored, so alerts do not wait for storage.
   */
  onEvents?: (events: EventV1[]) => void;
  /** Why an insert that succeeded is not kept (StorageClients.notKept): checked before acking. */
  notKept?: () => string | null;
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
 * Two stages: messages are validated and handed to the detections as they arrive (after `lingerMs`),
 * then stored in inserts of up to `batchSize` events, at the latest `storeLingerMs` after the oldest
 * arrived. Detections see each message once; a message redelivered after a crash between the two
 * stages is seen again (at least once, as delivery itself).
 */
export class EventIngestor {
  readonly stats: IngestStats;
  private running = false;
  private done: Promise<void> | null = null;
  /** Resolves when stop() is called: ends backoff sleeps at once. */
  private stopping: Promise<void> = new Promise(() => undefined);
  private signalStop: () => void = () => undefined;

  private readonly durable: DurableConsumer;
  private readonly storer: StoreStage;
  private readonly loss: StreamLoss;

  constructor(js: JetStreamClient, ch: ClickHouseClient, private readonly opts: IngestOptions) {
    this.durable = new DurableConsumer(js, opts.streams, opts.log);
    this.stats = { stored: 0, batches: 0, rejects: {}, lastInsertError: null, storageHealthy: true, lostInStream: 0, retimed: 0, consumer: this.durable.state };
    this.loss = new StreamLoss(js, opts.log);
    this.storer = new StoreStage(js, ch, { stats: this.stats, log: opts.log, running: () => this.running, stopping: () => this.stopping, notKept: () => opts.notKept?.() ?? null });
  }

  start(): void {
    this.running = true;
    this.stopping = new Promise((r) => { this.signalStop = r; });
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
   * Messages are fetched in bounded pulls into `arrived`; the detect stage validates them and runs
   * the detections, then hands them to the store stage, which inserts and acks. Nothing is fetched
   * while `2 × batchSize` events (or twice MAX_INSERT_BYTES) wait in either stage. Every step is
   * guarded per message: one that throws is counted and logged, never the end of the loop.
   */
  private async loop(): Promise<void> {
    const arrived: JsMsg[] = [];
    const held = { arrivedEvents: 0, arrivedBytes: 0, toStoreEvents: 0, toStoreBytes: 0 };
    const toStore: { checked: Checked; at: number }[] = [];
    const signal = { arrived: new Wake(), detected: new Wake(), drained: new Wake() };
    const pause = (w: Wake, ms: number) => Promise.race([w.wait(ms), this.stopping]);
    // Pulled on demand, about FETCH_BYTES at a time (counted in messages: a max_bytes pull stalls
    // nats.js on a message larger than the bytes left in the request). Larger pulls of ~1 MB batches
    // behind a backlog lost deliveries here: 32 per pull (1 s expiry) missed about one message in four
    // (600 batches of 1,000 events; each came back only after ack_wait, 60 s, and its stream sequence
    // gap read as loss), 13,189 events/s at 4 per pull against 4,498/s.
    let fetchMessages = 4;
    // Messages in the stream not yet delivered to this consumer, as of the last delivery.
    let streamPending = 0;
    const settle = async () => {
      while (this.running && (arrived.length > 0 || toStore.length > 0)) await pause(signal.drained, 1000);
    };
    const reader = (async () => {
      let consumer: Consumer | null = null;
      let opened = false;
      let checkedAt = performance.now();
      let lastOpenError = '';
      while (this.running) {
        if (consumer === null) {
          try {
            const o = await this.durable.open(settle, () => this.storer.resumeSeq());
            consumer = o.consumer;
            if (!opened || o.how === 'stream-replaced') {
              this.loss.reset(o.info.delivered.stream_seq);
              this.storer.resetAcked(o.info.ack_floor.stream_seq);
            }
            opened = true;
            lastOpenError = '';
            checkedAt = performance.now();
          } catch (err) {
            if ((err as Error).message !== lastOpenError) this.opts.log.warn({ err }, 'the event stream\'s consumer is out of reach; retrying');
            lastOpenError = (err as Error).message;
            await Promise.race([sleep(1000), this.stopping]);
          }
          continue;
        }
        if (held.arrivedEvents + held.toStoreEvents >= this.opts.batchSize * 2 || held.arrivedBytes + held.toStoreBytes >= MAX_INSERT_BYTES * 2) {
          await pause(signal.drained, 1000);
          continue;
        }
        let failed: unknown = null;
        try {
          const batch = await consumer.fetch({ max_messages: fetchMessages, expires: 5000 });
          this.stopConsume = () => batch.stop();
          let bytes = 0;
          let count = 0;
          for await (const m of batch) {
            bytes += m.data.length;
            count++;
            streamPending = m.info.pending;
            if (!m.info.redelivered) this.loss.delivered(m.info.streamSequence);
            arrived.push(m);
            held.arrivedEvents += eventsIn(m);
            held.arrivedBytes += m.data.length;
            signal.arrived.fire();
          }
          if (count > 0) fetchMessages = Math.max(1, Math.min(MAX_FETCH_MESSAGES, Math.floor(FETCH_BYTES / (bytes / count))));
          // At once: a message of a gap that another control plane got is still in the stream now.
          await this.loss.check();
          this.stats.lostInStream = this.loss.lost;
        } catch (err) {
          failed = err;
        }
        // A deleted consumer makes fetches fail, or (between pulls) merely come back empty: asked
        // after a failure, and every CONSUMER_CHECK_MS anyway.
        if (failed === null && performance.now() - checkedAt < CONSUMER_CHECK_MS) continue;
        checkedAt = performance.now();
        if ((await this.durable.present()) === false) {
          consumer = null;
          continue;
        }
        if (failed !== null && this.running) {
          // NATS away: the messages stay in the stream; try again shortly.
          this.opts.log.warn({ err: failed }, 'fetching from the event stream failed; retrying');
          await Promise.race([sleep(1000), this.stopping]);
        }
      }
      signal.arrived.fire();
    })();
    const detector = (async () => {
      while (this.running) {
        if (arrived.length === 0) {
          await pause(signal.arrived, 1000);
          continue;
        }
        // Only a quiet spell waits: behind a backlog every round would pay the linger again (the
        // store stage holds the previous rounds, so their messages are not the ones waited for). And
        // only for messages the stream already holds: with none pending, the detections start now.
        if (toStore.length === 0 && held.arrivedEvents < this.opts.batchSize && this.opts.lingerMs !== 0) {
          const until = performance.now() + (this.opts.lingerMs ?? 20);
          while (streamPending > 0 && held.arrivedEvents < this.opts.batchSize && this.running && performance.now() < until) await pause(signal.arrived, until - performance.now());
        }
        if (!this.running) break;
        // At most DETECT_ROUND events per round, then a turn of the event loop: behind a backlog the
        // store stage starts its next insert between rounds instead of waiting for every arrival's
        // detections (the insert runs on chDB's threads while the detections run here), and the last
        // event of a round waits for its alerts no longer than the detections of that many.
        const take = takeUpTo(arrived.map((m) => ({ events: eventsIn(m), bytes: m.data.length })), Math.min(this.opts.batchSize, DETECT_ROUND));
        const msgs = arrived.splice(0, take.messages);
        held.arrivedEvents -= take.events;
        held.arrivedBytes -= take.bytes;
        const checked: Checked[] = msgs.map((msg) => ({ msg, ...checkMessage(msg.subject, msg.data) }));
        const events = checked.flatMap((c) => c.events);
        if (events.length > 0 && this.opts.onEvents) {
          try { this.opts.onEvents(events); } catch (err) { this.opts.log.error({ err }, 'detections failed on a batch'); }
        }
        const at = performance.now();
        for (const c of checked) {
          toStore.push({ checked: c, at });
          held.toStoreEvents += weight(c);
          held.toStoreBytes += c.msg.data.length;
        }
        signal.detected.fire();
        await new Promise((r) => setImmediate(r));
      }
      signal.detected.fire();
    })();
    let backoff = 250;
    const storeLinger = this.opts.storeLingerMs ?? 250;
    const storeSome = async () => {
      const take = takeUpTo(toStore.map((t) => ({ events: weight(t.checked), bytes: t.checked.msg.data.length })), this.opts.batchSize);
      const batch = toStore.splice(0, take.messages).map((t) => t.checked);
      held.toStoreEvents -= take.events;
      held.toStoreBytes -= take.bytes;
      try {
        backoff = await this.storer.store(batch, backoff, () => [...toStore.map((t) => t.checked.msg), ...arrived]);
      } catch (err) {
        // Not foreseen (store() guards what it knows): the messages come back after ack_wait.
        this.opts.log.error({ err, 'ingest.messages': batch.length }, 'storing a batch failed unexpectedly; its messages come back');
        this.storer.letGo(batch.map((c) => c.msg));
      }
      signal.drained.fire();
    };
    while (this.running) {
      if (toStore.length === 0) {
        await pause(signal.detected, 1000);
        continue;
      }
      const waited = performance.now() - toStore[0]!.at;
      if (held.toStoreEvents < this.opts.batchSize && held.toStoreBytes < MAX_INSERT_BYTES && waited < storeLinger) {
        await pause(signal.detected, storeLinger - waited);
        continue;
      }
      await storeSome();
    }
    this.stopConsume?.();
    await reader.catch(() => undefined);
    await detector.catch(() => undefined);
    // Stopping: what the detections have seen is stored now (one try each; what fails comes back to
    // the next control plane), what they have not seen goes back at once.
    while (toStore.length > 0) await storeSome();
    for (const m of arrived.splice(0)) tryTo(() => m.nak());
  }

  private stopConsume: (() => void) | null = null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Events the detections take per round (inserts may be larger: see IngestOptions.batchSize). */
const DETECT_ROUND = 2000;

/**
 * Message bytes per insert at most, whatever the events' count: 10,000 events of 250 KB each would be
 * one insert of 2.5 GB, a string longer than V8 makes (the insert would fail, and be retried, for ever).
 */
const MAX_INSERT_BYTES = 64 * 1024 * 1024;

/** How often the durable consumer's presence is checked while fetches succeed (see the reader). */
const CONSUMER_CHECK_MS = 5000;

/** Bytes in flight per pull, turned into a message count from the size of the last pull's messages. */
const FETCH_BYTES = 4 * 1024 * 1024;
const MAX_FETCH_MESSAGES = 256;

/**
 * How many leading messages (of the given events and bytes) make up about `events` events and at most
 * about MAX_INSERT_BYTES, at least one; and their events and bytes.
 */
function takeUpTo(sizes: { events: number; bytes: number }[], events: number): { messages: number; events: number; bytes: number } {
  let n = 0;
  let bytes = 0;
  let i = 0;
  while (i < sizes.length && (i === 0 || (n < events && bytes + sizes[i]!.bytes <= MAX_INSERT_BYTES))) {
    n += sizes[i]!.events;
    bytes += sizes[i++]!.bytes;
  }
  return { messages: i, events: n, bytes };
}

/** What a validated message counts for in the store stage: its events, or one for a refused message. */
const weight = (c: Checked): number => c.events.length || 1;

/** One waiter woken by the next fire(), or after `ms`. */
class Wake {
  private resolve: (() => void) | null = null;

  wait(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(() => { this.resolve = null; r(); }, ms);
      t.unref();
      this.resolve = () => { clearTimeout(t); this.resolve = null; r(); };
    });
  }

  fire(): void {
    this.resolve?.();
  }
}

/** Events a message declares (the sensor sets the header; anything else counts as one, only sizes inserts). */
function eventsIn(m: JsMsg): number {
  const n = Number(m.headers?.get(EVENTS_HEADER));
  return Number.isInteger(n) && n > 0 ? n : 1;
}
