import type { ClickHouseClient } from '@clickhouse/client';
import { headers, type JetStreamClient, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import { deadLetterSubject, EventBatchV1, EventV1, EVENTS_STREAM, hostOfEventSubject, EVENTS_HEADER, MAX_BATCH_BYTES, MAX_EVENT_BYTES } from '@vigil/schema';
import { insertEvents } from '../store/event-insert.js';
import { EVENTS_KEPT_DAYS, storedAtClaimedTime } from '../store/claimed-time.js';
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
  /**
   * Events stored at the time of their insert because the time they claim lies outside what the
   * table keeps (store/claimed-time.ts): a host clock far off, or a forged time. Their JSON keeps it.
   */
  retimed: number;
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
  /**
   * Called with the valid events of the messages that arrived together, in arrival order, once, as
   * soon as they are validated: before they are stored, so alerts do not wait for storage.
   */
  onEvents?: (events: EventV1[]) => void;
}

/** A message, validated: its good events and what of it goes to the dead-letter stream. */
interface Checked {
  msg: JsMsg;
  /** False when the whole message is refused (dead-lettered, then acked). */
  good: boolean;
  events: EventV1[];
  bad: { reason: string; event?: unknown }[];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Consumes messages from the durable consumer (an EventBatchV1, or one bare EventV1), validates every
 * event, inserts them into ClickHouse and only then acks the messages. What can never be stored goes to
 * the dead-letter stream with the reason and is acked, so the consumer never stalls on it: a whole
 * message when it is not JSON, of another version, too large or from a host other than its subject's;
 * a single event of a batch when only that event is malformed (the rest of the batch is stored).
 * While storage refuses, nothing is acked and the batch is retried.
 *
 * Two stages: messages are validated and handed to the detections as they arrive (after `lingerMs`),
 * then stored in inserts of up to `batchSize` events, at the latest `storeLingerMs` after the oldest
 * arrived. Detections see each message once; a message redelivered after a crash between the two
 * stages is seen again (at least once, as delivery itself).
 */
export class EventIngestor {
  readonly stats: IngestStats = { stored: 0, batches: 0, rejects: {}, lastInsertError: null, storageHealthy: true, lostInStream: 0, retimed: 0 };
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
  }

  private reject(reason: string): void {
    this.stats.rejects[reason] = (this.stats.rejects[reason] ?? 0) + 1;
  }

  /**
   * Messages are fetched in bounded pulls into `arrived`; the detect stage validates them and runs
   * the detections, then hands them to the store stage, which inserts and acks. Nothing is fetched
   * while `2 × batchSize` events wait in either stage.
   */
  private async loop(): Promise<void> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, CONSUMER_NAME);
    let lastSeq = (await consumer.info()).delivered.stream_seq;
    const arrived: JsMsg[] = [];
    let arrivedEvents = 0;
    const toStore: { checked: Checked; at: number }[] = [];
    let toStoreEvents = 0;
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
    const reader = (async () => {
      while (this.running) {
        if (arrivedEvents + toStoreEvents >= this.opts.batchSize * 2) {
          await pause(signal.drained, 1000);
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
            streamPending = m.info.pending;
            if (!m.info.redelivered) {
              const seq = m.info.streamSequence;
              if (seq > lastSeq + 1) {
                this.stats.lostInStream += seq - lastSeq - 1;
                this.opts.log.error({ 'ingest.lostMessages': seq - lastSeq - 1, 'ingest.streamSeq': seq }, 'the stream dropped messages before they were consumed (stream limits)');
              }
              if (seq > lastSeq) lastSeq = seq;
            }
            arrived.push(m);
            arrivedEvents += eventsIn(m);
            signal.arrived.fire();
          }
          if (count > 0) fetchMessages = Math.max(1, Math.min(MAX_FETCH_MESSAGES, Math.floor(FETCH_BYTES / (bytes / count))));
        } catch (err) {
          // NATS away or the consumer gone: the messages stay in the stream; try again shortly.
          this.opts.log.warn({ err }, 'fetching from the event stream failed; retrying');
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
        if (toStore.length === 0 && arrivedEvents < this.opts.batchSize && this.opts.lingerMs !== 0) {
          const until = performance.now() + (this.opts.lingerMs ?? 20);
          while (streamPending > 0 && arrivedEvents < this.opts.batchSize && this.running && performance.now() < until) await pause(signal.arrived, until - performance.now());
        }
        if (!this.running) break;
        // At most DETECT_ROUND events per round, then a turn of the event loop: behind a backlog the
        // store stage starts its next insert between rounds instead of waiting for every arrival's
        // detections (the insert runs on chDB's threads while the detections run here), and the last
        // event of a round waits for its alerts no longer than the detections of that many.
        const take = takeUpTo(arrived.map(eventsIn), Math.min(this.opts.batchSize, DETECT_ROUND));
        const msgs = arrived.splice(0, take.messages);
        arrivedEvents -= take.events;
        const checked = msgs.map((m) => this.check(m));
        const events = checked.flatMap((c) => c.events);
        if (events.length > 0 && this.opts.onEvents) {
          try { this.opts.onEvents(events); } catch (err) { this.opts.log.error({ err }, 'detections failed on a batch'); }
        }
        const at = performance.now();
        for (const c of checked) {
          toStore.push({ checked: c, at });
          toStoreEvents += weight(c);
        }
        signal.detected.fire();
        await new Promise((r) => setImmediate(r));
      }
      signal.detected.fire();
    })();
    let backoff = 250;
    const storeLinger = this.opts.storeLingerMs ?? 250;
    const storeSome = async () => {
      const take = takeUpTo(toStore.map((t) => weight(t.checked)), this.opts.batchSize);
      const batch = toStore.splice(0, take.messages).map((t) => t.checked);
      toStoreEvents -= take.events;
      backoff = await this.store(batch, backoff, () => [...toStore.map((t) => t.checked.msg), ...arrived]);
      signal.drained.fire();
    };
    while (this.running) {
      if (toStore.length === 0) {
        await pause(signal.detected, 1000);
        continue;
      }
      const waited = performance.now() - toStore[0]!.at;
      if (toStoreEvents < this.opts.batchSize && waited < storeLinger) {
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
    for (const m of arrived.splice(0)) m.nak();
  }

  private stopConsume: (() => void) | null = null;

  /**
   * Stores the events of some messages, retrying until storage accepts them; returns the backoff to
   * carry on with. `held`: the other messages this consumer holds, kept from redelivery while it waits.
   */
  private async store(batch: Checked[], backoffIn: number, held: () => JsMsg[]): Promise<number> {
    let backoff = backoffIn;
    const events = batch.flatMap((c) => c.events);
    for (const c of batch) {
      for (const b of c.bad) {
        if (b.event === undefined) {
          // The whole message is refused: parked, then acked (when parking failed it comes back).
          if (await this.deadLetter(c.msg.subject, c.msg.data, b.reason)) c.msg.ack();
        } else {
          // One bad event of a good batch: parked on its own; the message is acked with the rest.
          await this.deadLetter(c.msg.subject, encoder.encode(JSON.stringify(b.event)), b.reason);
        }
      }
    }
    const good = batch.filter((c) => c.good).map((c) => c.msg);
    for (;;) {
      try {
        await insertEvents(this.ch, events);
        for (const m of good) m.ack();
        this.stats.stored += events.length;
        const now = Date.now();
        for (const ev of events) if (!storedAtClaimedTime(ev.ts, EVENTS_KEPT_DAYS, now)) this.stats.retimed++;
        this.stats.batches++;
        this.stats.storageHealthy = true;
        this.stats.lastInsertError = null;
        return 250;
      } catch (err) {
        this.stats.storageHealthy = false;
        this.stats.lastInsertError = (err as Error).message;
        this.opts.log.error({ err, 'ingest.batch': events.length, 'ingest.backoffMs': backoff }, 'insert failed; not acking, will retry');
        // Keep the messages ours while we wait, so JetStream does not redeliver them meanwhile.
        for (const m of good) m.working();
        for (const m of held()) m.working();
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

  /** One message as it arrived: refused whole, or its events, each valid or dead-lettered alone. */
  private check(msg: JsMsg): Checked {
    const refuse = (reason: string): Checked => ({ msg, good: false, events: [], bad: [{ reason }] });
    if (msg.data.byteLength > MAX_BATCH_BYTES) return refuse('oversized');
    let raw: unknown;
    try {
      raw = JSON.parse(decoder.decode(msg.data));
    } catch {
      return refuse('not-json');
    }
    const v = (raw as { v?: unknown })?.v;
    if (v !== undefined && v !== 1) return refuse('wrong-version');
    const subjectHost = hostOfEventSubject(msg.subject);
    if (Array.isArray((raw as { events?: unknown })?.events)) {
      const batch = EventBatchV1.safeParse(raw);
      if (!batch.success) return refuse('schema');
      if (batch.data.host !== subjectHost) return refuse('host-mismatch');
      const out: Checked = { msg, good: true, events: [], bad: [] };
      for (const item of batch.data.events) {
        const parsed = EventV1.safeParse(item);
        if (!parsed.success) out.bad.push({ reason: 'schema', event: item });
        else if (parsed.data.host !== subjectHost) out.bad.push({ reason: 'host-mismatch', event: item });
        else out.events.push(parsed.data);
      }
      return out;
    }
    if (msg.data.byteLength > MAX_EVENT_BYTES) return refuse('oversized');
    const parsed = EventV1.safeParse(raw);
    if (!parsed.success) return refuse('schema');
    if (subjectHost !== parsed.data.host) return refuse('host-mismatch');
    return { msg, good: true, events: [parsed.data], bad: [] };
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

/** Events the detections take per round (inserts may be larger: see IngestOptions.batchSize). */
const DETECT_ROUND = 2000;

/** Bytes in flight per pull, turned into a message count from the size of the last pull's messages. */
const FETCH_BYTES = 4 * 1024 * 1024;
const MAX_FETCH_MESSAGES = 256;

/** How many leading messages (of the given event counts) make up about `events` events, at least one; and their events. */
function takeUpTo(counts: number[], events: number): { messages: number; events: number } {
  let n = 0;
  let i = 0;
  while (i < counts.length && (i === 0 || n < events)) n += counts[i++]!;
  return { messages: i, events: n };
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
