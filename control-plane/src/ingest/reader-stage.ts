import type { Consumer, JetStreamClient, JsMsg } from 'nats';
import type { Logger } from 'pino';
import { EVENTS_HEADER } from '@vigil/schema';
import type { DurableConsumer } from './durable-consumer.js';
import { StreamLoss } from './stream-loss.js';
import { MAX_INSERT_BYTES, pause, sleep, type CountedQueue, type RunState, type Wake } from './stage-queue.js';
import type { Detected } from './detect-stage.js';

/** How often the durable consumer's presence is checked while fetches succeed. */
const CONSUMER_CHECK_MS = 5000;

/** Bytes in flight per pull, turned into a message count from the size of the last pull's messages. */
const FETCH_BYTES = 4 * 1024 * 1024;
const MAX_FETCH_MESSAGES = 256;

/** What the reader asks of the ingestor it serves. */
export interface ReaderHost extends RunState {
  readonly log: Logger;
  /** Events the stages may hold each (fetching stops at twice this in both together). */
  readonly batchSize: number;
  /** Where a recreated consumer starts, and the ack floor to start over from (see StoreStage). */
  readonly acks: { resumeSeq(): number | undefined; resetAcked(ackFloor: number): void };
  /** Called with the count of messages the stream dropped before delivering them (see StreamLoss). */
  lostInStream(lost: number): void;
}

/** The queues the reader fills (`arrived`) and waits on (both), and the store stage's drained signal. */
export interface ReaderQueues {
  arrived: CountedQueue<JsMsg>;
  toStore: CountedQueue<Detected>;
  drained: Wake;
}

/**
 * The read stage of EventIngestor: pulls messages from the durable consumer into `arrived` in bounded
 * fetches, while the stages hold less than twice a batch; counts what the stream dropped before
 * delivering it; and opens the durable consumer again when it goes missing (see DurableConsumer).
 */
export class ReaderStage {
  /** Messages in the stream not yet delivered to this consumer, as of the last delivery. */
  pending = 0;
  private readonly loss: StreamLoss;
  private consumer: Consumer | null = null;
  private opened = false;
  private checkedAt = performance.now();
  private lastOpenError = '';
  private stopFetch: (() => void) | null = null;
  // Pulled on demand, about FETCH_BYTES at a time (counted in messages: a max_bytes pull stalls
  // nats.js on a message larger than the bytes left in the request). Larger pulls of ~1 MB batches
  // behind a backlog lose deliveries: 32 per pull (1 s expiry) missed about one message in four (each
  // came back only after ack_wait, and its stream sequence gap read as loss); 4 per pull ingests
  // about three times faster.
  private fetchMessages = 4;

  constructor(
    js: JetStreamClient,
    private readonly durable: DurableConsumer,
    private readonly q: ReaderQueues,
    private readonly host: ReaderHost,
  ) {
    this.loss = new StreamLoss(js, host.log);
  }

  /** Reads until the ingestor stops, then wakes the detect stage. */
  async run(): Promise<void> {
    while (this.host.running()) {
      if (this.consumer === null) await this.open();
      else if (this.full()) await pause(this.host, this.q.drained.wait(1000));
      else await this.fetchOnce(this.consumer);
    }
    this.q.arrived.wake();
  }

  /** Ends the pull in progress at once. */
  stop(): void {
    this.stopFetch?.();
  }

  /** Back-pressure: the stages together hold twice a batch of events, or twice the bytes of an insert. */
  private full(): boolean {
    const { arrived, toStore } = this.q;
    return (
      arrived.events + toStore.events >= this.host.batchSize * 2 ||
      arrived.bytes + toStore.bytes >= MAX_INSERT_BYTES * 2
    );
  }

  /** Resolves once the stages hold nothing (stored, or the ingestor stopping). */
  private async settle(): Promise<void> {
    while (this.host.running() && (this.q.arrived.length > 0 || this.q.toStore.length > 0))
      await pause(this.host, this.q.drained.wait(1000));
  }

  private async open(): Promise<void> {
    try {
      const o = await this.durable.open(
        () => this.settle(),
        () => this.host.acks.resumeSeq(),
        !this.opened,
      );
      this.consumer = o.consumer;
      if (!this.opened || o.how === 'stream-replaced') {
        this.loss.reset(o.info.delivered.stream_seq);
        this.host.acks.resetAcked(o.info.ack_floor.stream_seq);
      }
      this.opened = true;
      this.lastOpenError = '';
      this.checkedAt = performance.now();
    } catch (err) {
      if ((err as Error).message !== this.lastOpenError)
        this.host.log.warn({ err }, "the event stream's consumer is out of reach; retrying");
      this.lastOpenError = (err as Error).message;
      await pause(this.host, sleep(1000));
    }
  }

  /** One pull, its loss accounting, then (after a failure, or now and then) the consumer's presence. */
  private async fetchOnce(consumer: Consumer): Promise<void> {
    let failed: unknown = null;
    try {
      await this.fetch(consumer);
      // At once: a message of a gap that another control plane got is still in the stream now.
      await this.loss.check();
      this.host.lostInStream(this.loss.lost);
    } catch (err) {
      failed = err;
    }
    await this.checkConsumer(failed);
  }

  private async fetch(consumer: Consumer): Promise<void> {
    const batch = await consumer.fetch({ max_messages: this.fetchMessages, expires: 5000 });
    this.stopFetch = () => batch.stop();
    let bytes = 0;
    let count = 0;
    for await (const m of batch) {
      bytes += m.data.length;
      count++;
      this.pending = m.info.pending;
      if (!m.info.redelivered) this.loss.delivered(m.info.streamSequence);
      this.q.arrived.push(m);
    }
    if (count > 0)
      this.fetchMessages = Math.max(1, Math.min(MAX_FETCH_MESSAGES, Math.floor(FETCH_BYTES / (bytes / count))));
  }

  /**
   * A deleted consumer makes fetches fail, or (between pulls) merely come back empty: asked after a
   * failure, and every CONSUMER_CHECK_MS anyway.
   */
  private async checkConsumer(failed: unknown): Promise<void> {
    if (failed === null && performance.now() - this.checkedAt < CONSUMER_CHECK_MS) return;
    this.checkedAt = performance.now();
    if ((await this.durable.present()) === false) {
      this.consumer = null;
      return;
    }
    if (failed !== null && this.host.running()) {
      // NATS away: the messages stay in the stream; try again shortly.
      this.host.log.warn({ err: failed }, 'fetching from the event stream failed; retrying');
      await pause(this.host, sleep(1000));
    }
  }
}

/** Events a message declares (the sensor sets the header; anything else counts as one, only sizes inserts). */
export function eventsIn(m: JsMsg): number {
  const n = Number(m.headers?.get(EVENTS_HEADER));
  return Number.isInteger(n) && n > 0 ? n : 1;
}
