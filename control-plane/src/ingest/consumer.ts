import type { ClickHouseClient } from '@clickhouse/client';
import { headers, type JetStreamClient, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import { deadLetterSubject, EventBatchV1, EventV1, EVENTS_STREAM, hostOfEventSubject, EVENTS_HEADER, MAX_BATCH_BYTES, MAX_EVENT_BYTES } from '@vigil/schema';
import { eventRow } from '../store/event-rows.js';
import { CONSUMER_NAME } from './streams.js';

export interface IngestStats {
  stored: number;
  batches: number;
  rejects: Record<string, number>;
  lastInsertError: string | null;
  storageHealthy: boolean;
  /**
   * Messages the stream dropped before this consumer got them (its limits on age or size, or a purge):
   * gaps in the stream sequence of first deliveries. Counted, since nothing else would tell.
   */
  lostInStream: number;
}

export interface IngestOptions {
  /** Events per ClickHouse insert at most (a message holds one event or a batch of them). */
  batchSize: number;
  /** How long a partial batch waits for more messages before it is stored. */
  lingerMs?: number;
  log: Logger;
  /** Called with the events of each stored batch (detections hook here). */
  onStored?: (events: EventV1[]) => void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Consumes messages from the durable consumer (an EventBatchV1, or one bare EventV1), validates every
 * event, inserts them into ClickHouse and only then acks the messages. What can never be stored goes to
 * the dead-letter stream with the reason and is acked, so the consumer never stalls on it: a whole
 * message when it is not JSON, of another version, too large or from a host other than its subject's;
 * a single event of a batch when only that event is malformed (the rest of the batch is stored).
 * While storage refuses, nothing is acked and the batch is retried.
 */
export class EventIngestor {
  readonly stats: IngestStats = { stored: 0, batches: 0, rejects: {}, lastInsertError: null, storageHealthy: true, lostInStream: 0 };
  private running = false;
  private done: Promise<void> | null = null;
  /** Resolves when stop() is called: ends backoff sleeps at once. */
  private stopping: Promise<void> = new Promise(() => undefined);
  private signalStop: () => void = () => undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly ch: ClickHouseClient,
    private readonly opts: IngestOptions,
  ) {}

  start(): void {
    this.running = true;
    this.stopping = new Promise((r) => { this.signalStop = r; });
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.signalStop();
    this.stopConsume?.();
    await this.done;
    await this.detecting;
  }

  private reject(reason: string): void {
    this.stats.rejects[reason] = (this.stats.rejects[reason] ?? 0) + 1;
  }

  /**
   * Messages are fetched in bounded pulls; they are stored in batches of up to `batchSize`, or
   * whatever has arrived `lingerMs` after the first of a batch: large batches under load, low
   * latency when quiet.
   */
  private async loop(): Promise<void> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, CONSUMER_NAME);
    let lastSeq = (await consumer.info()).delivered.stream_seq;
    const buffer: JsMsg[] = [];
    let buffered = 0;
    const wake: { arrived: (() => void) | null; drained: (() => void) | null } = { arrived: null, drained: null };
    // Pulled on demand, about FETCH_BYTES at a time (counted in messages: a max_bytes pull stalls
    // nats.js on a message larger than the bytes left in the request). Larger pulls of ~1 MB batches
    // behind a backlog lost deliveries here: 32 per pull (1 s expiry) missed about one message in four
    // (600 batches of 1,000 events; each came back only after ack_wait, 60 s, and its stream sequence
    // gap read as loss), 13,189 events/s at 4 per pull against 4,498/s. Nothing is fetched while
    // `2 × batchSize` events wait to be stored.
    let fetchMessages = 4;
    const reader = (async () => {
      while (this.running) {
        if (buffered >= this.opts.batchSize * 2) {
          await new Promise<void>((r) => { wake.drained = r; setTimeout(r, 1000); });
          wake.drained = null;
          continue;
        }
        try {
          const batch = await consumer.fetch({ max_messages: fetchMessages, expires: 5000 });
          this.stopConsume = () => batch.stop();
          let bytes = 0;
          let count = 0;
          for await (const m of batch) {
            bytes += m.data.length;
            count++;
            if (!m.info.redelivered) {
              const seq = m.info.streamSequence;
              if (seq > lastSeq + 1) {
                this.stats.lostInStream += seq - lastSeq - 1;
                this.opts.log.error({ 'ingest.lostMessages': seq - lastSeq - 1, 'ingest.streamSeq': seq }, 'the stream dropped messages before they were consumed (stream limits)');
              }
              if (seq > lastSeq) lastSeq = seq;
            }
            buffer.push(m);
            buffered += eventsIn(m);
            wake.arrived?.();
          }
          if (count > 0) fetchMessages = Math.max(1, Math.min(MAX_FETCH_MESSAGES, Math.floor(FETCH_BYTES / (bytes / count))));
        } catch (err) {
          // NATS away or the consumer gone: the messages stay in the stream; try again shortly.
          this.opts.log.warn({ err }, 'fetching from the event stream failed; retrying');
          await Promise.race([sleep(1000), this.stopping]);
        }
      }
      wake.arrived?.();
    })();
    let backoff = 250;
    while (this.running) {
      if (buffer.length === 0) {
        await new Promise<void>((r) => { wake.arrived = r; setTimeout(r, 1000); });
        wake.arrived = null;
        continue;
      }
      if (buffered < this.opts.batchSize && this.opts.lingerMs !== 0) await sleep(this.opts.lingerMs ?? 20);
      const take = takeUpTo(buffer, this.opts.batchSize);
      const msgs = buffer.splice(0, take.messages);
      buffered -= take.events;
      wake.drained?.();
      backoff = await this.store(msgs, backoff);
    }
    this.stopConsume?.();
    await reader.catch(() => undefined);
    // Received but not yet stored: redeliver them at once.
    for (const m of buffer.splice(0)) m.nak();
  }

  private stopConsume: (() => void) | null = null;

  /** Stores the events of some messages, retrying until storage accepts them; returns the backoff to carry on with. */
  private async store(msgs: JsMsg[], backoffIn: number): Promise<number> {
    let backoff = backoffIn;
    const { good, events, bad } = this.validate(msgs);
    for (const b of bad) {
      if (b.event === undefined) {
        if (await this.deadLetter(b.msg.subject, b.msg.data, b.reason)) b.msg.ack();
      } else {
        // One bad event of a good batch: parked on its own; the message is acked with the rest.
        await this.deadLetter(b.msg.subject, encoder.encode(JSON.stringify(b.event)), b.reason);
      }
    }
    for (;;) {
      try {
        if (events.length > 0) {
          await this.ch.insert({ table: 'events', values: events.map(eventRow), format: 'JSONEachRow' });
        }
        for (const m of good) m.ack();
        this.stats.stored += events.length;
        this.stats.batches++;
        this.stats.storageHealthy = true;
        this.stats.lastInsertError = null;
        if (events.length > 0) this.afterStore(events);
        return 250;
      } catch (err) {
        this.stats.storageHealthy = false;
        this.stats.lastInsertError = (err as Error).message;
        this.opts.log.error({ err, 'ingest.batch': events.length, 'ingest.backoffMs': backoff }, 'insert failed; not acking, will retry');
        // Keep the messages ours while we wait, so JetStream does not redeliver them meanwhile.
        for (const m of good) m.working();
        // Stopping: hand them back now, so the next control plane gets them without waiting out ack_wait.
        if (!this.running) {
          for (const m of good) m.nak();
          return backoff;
        }
        await Promise.race([sleep(backoff), this.stopping]);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /** Detections of the last stored batch, run while the next batch's insert is in flight. */
  private detecting: Promise<void> = Promise.resolve();

  /**
   * Hands stored events to the detections on the next turn of the event loop: by then the loop has
   * validated the next batch and started its insert, so the engine's CPU work overlaps the storage
   * engine's. Batches still reach the detections one at a time and in order.
   */
  private afterStore(events: EventV1[]): void {
    const run = this.opts.onStored;
    if (!run) return;
    this.detecting = this.detecting.then(() => new Promise<void>((resolve) => setImmediate(() => {
      try { run(events); } catch (err) { this.opts.log.error({ err }, 'detections failed on a batch'); }
      resolve();
    })));
  }

  private validate(msgs: JsMsg[]) {
    const good: JsMsg[] = [];
    const events: EventV1[] = [];
    const bad: { msg: JsMsg; reason: string; event?: unknown }[] = [];
    for (const msg of msgs) {
      if (msg.data.byteLength > MAX_BATCH_BYTES) { bad.push({ msg, reason: 'oversized' }); continue; }
      let raw: unknown;
      try {
        raw = JSON.parse(decoder.decode(msg.data));
      } catch {
        bad.push({ msg, reason: 'not-json' });
        continue;
      }
      const v = (raw as { v?: unknown })?.v;
      if (v !== undefined && v !== 1) { bad.push({ msg, reason: 'wrong-version' }); continue; }
      const subjectHost = hostOfEventSubject(msg.subject);
      if (Array.isArray((raw as { events?: unknown })?.events)) {
        const batch = EventBatchV1.safeParse(raw);
        if (!batch.success) { bad.push({ msg, reason: 'schema' }); continue; }
        if (batch.data.host !== subjectHost) { bad.push({ msg, reason: 'host-mismatch' }); continue; }
        for (const item of batch.data.events) {
          const parsed = EventV1.safeParse(item);
          if (!parsed.success) bad.push({ msg, reason: 'schema', event: item });
          else if (parsed.data.host !== subjectHost) bad.push({ msg, reason: 'host-mismatch', event: item });
          else events.push(parsed.data);
        }
        good.push(msg);
        continue;
      }
      if (msg.data.byteLength > MAX_EVENT_BYTES) { bad.push({ msg, reason: 'oversized' }); continue; }
      const parsed = EventV1.safeParse(raw);
      if (!parsed.success) { bad.push({ msg, reason: 'schema' }); continue; }
      if (subjectHost !== parsed.data.host) { bad.push({ msg, reason: 'host-mismatch' }); continue; }
      good.push(msg);
      events.push(parsed.data);
    }
    return { good, events, bad };
  }

  /** Parks data on the dead-letter stream; false when that failed (the message is then not acked and comes back). */
  private async deadLetter(subject: string, data: Uint8Array, reason: string): Promise<boolean> {
    this.reject(reason);
    const h = headers();
    h.set('Vigil-Reason', reason);
    h.set('Vigil-Subject', subject);
    try {
      await this.js.publish(deadLetterSubject(reason), data, { headers: h });
      return true;
    } catch (err) {
      this.opts.log.error({ err, 'deadletter.reason': reason }, 'dead-letter publish failed');
      return false;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const encoder = new TextEncoder();

/** Bytes in flight per pull, turned into a message count from the size of the last pull's messages. */
const FETCH_BYTES = 4 * 1024 * 1024;
const MAX_FETCH_MESSAGES = 256;

/** How many buffered messages make up about `events` events (a batch counts by its declared size), and their events. */
function takeUpTo(buffer: JsMsg[], events: number): { messages: number; events: number } {
  let n = 0;
  let i = 0;
  while (i < buffer.length && (i === 0 || n < events)) {
    n += eventsIn(buffer[i]!);
    i++;
  }
  return { messages: i, events: n };
}

/** Events a message declares (the sensor sets the header; anything else counts as one, only sizes inserts). */
function eventsIn(m: JsMsg): number {
  const n = Number(m.headers?.get(EVENTS_HEADER));
  return Number.isInteger(n) && n > 0 ? n : 1;
}
