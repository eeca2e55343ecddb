import type { ClickHouseClient } from '@clickhouse/client';
import { headers, type JetStreamClient, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import { deadLetterSubject, EventV1, EVENTS_STREAM, hostOfEventSubject, MAX_EVENT_BYTES } from '@vigil/schema';
import { eventRow } from '../store/event-rows.js';
import { CONSUMER_NAME } from './streams.js';

export interface IngestStats {
  stored: number;
  batches: number;
  rejects: Record<string, number>;
  lastInsertError: string | null;
  storageHealthy: boolean;
}

export interface IngestOptions {
  batchSize: number;
  /** How long a partial batch waits for more messages before it is stored. */
  lingerMs?: number;
  log: Logger;
  /** Called with the events of each stored batch (detections hook here). */
  onStored?: (events: EventV1[]) => void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Consumes events from the durable consumer, validates them, inserts each batch into ClickHouse and only
 * then acks it. A message that can never be stored (not JSON, wrong shape or version, too large, host
 * differing from its subject's) goes to the dead-letter stream with the reason and is acked: the
 * consumer never stalls on it. While storage refuses, nothing is acked and the batch is retried.
 */
export class EventIngestor {
  readonly stats: IngestStats = { stored: 0, batches: 0, rejects: {}, lastInsertError: null, storageHealthy: true };
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
   * Messages stream in through consume(); they are stored in batches of up to `batchSize`, or
   * whatever has arrived `lingerMs` after the first of a batch: large batches under load, low
   * latency when quiet.
   */
  private async loop(): Promise<void> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, CONSUMER_NAME);
    const buffer: JsMsg[] = [];
    const wake: { arrived: (() => void) | null } = { arrived: null };
    const messages = await consumer.consume({ max_messages: this.opts.batchSize * 2 });
    this.stopConsume = () => messages.stop();
    const reader = (async () => {
      for await (const m of messages) {
        buffer.push(m);
        wake.arrived?.();
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
      if (buffer.length < this.opts.batchSize) await sleep(this.opts.lingerMs ?? 50);
      const batch = buffer.splice(0, this.opts.batchSize);
      backoff = await this.store(batch, backoff);
    }
    messages.stop();
    await reader.catch(() => undefined);
    // Received but not yet stored: redeliver them at once.
    for (const m of buffer.splice(0)) m.nak();
  }

  private stopConsume: (() => void) | null = null;

  /** Stores one batch, retrying until storage accepts it; returns the backoff to carry on with. */
  private async store(msgs: JsMsg[], backoffIn: number): Promise<number> {
    let backoff = backoffIn;
    const { good, bad } = this.validate(msgs);
    for (const b of bad) await this.deadLetter(b.msg, b.reason);
    for (;;) {
      try {
        if (good.length > 0) {
          await this.ch.insert({ table: 'events', values: good.map((g) => eventRow(g.event)), format: 'JSONEachRow' });
        }
        for (const g of good) g.msg.ack();
        this.stats.stored += good.length;
        this.stats.batches++;
        this.stats.storageHealthy = true;
        this.stats.lastInsertError = null;
        if (good.length > 0) this.opts.onStored?.(good.map((g) => g.event));
        return 250;
      } catch (err) {
        this.stats.storageHealthy = false;
        this.stats.lastInsertError = (err as Error).message;
        this.opts.log.error({ err, 'ingest.batch': good.length, 'ingest.backoffMs': backoff }, 'insert failed; not acking, will retry');
        // Keep the messages ours while we wait, so JetStream does not redeliver them meanwhile.
        for (const g of good) g.msg.working();
        // Stopping: hand them back now, so the next control plane gets them without waiting out ack_wait.
        if (!this.running) {
          for (const g of good) g.msg.nak();
          return backoff;
        }
        await Promise.race([sleep(backoff), this.stopping]);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private validate(msgs: JsMsg[]) {
    const good: { msg: JsMsg; event: EventV1 }[] = [];
    const bad: { msg: JsMsg; reason: string }[] = [];
    for (const msg of msgs) {
      if (msg.data.byteLength > MAX_EVENT_BYTES) { bad.push({ msg, reason: 'oversized' }); continue; }
      let raw: unknown;
      try {
        raw = JSON.parse(decoder.decode(msg.data));
      } catch {
        bad.push({ msg, reason: 'not-json' });
        continue;
      }
      const v = (raw as { v?: unknown })?.v;
      if (v !== undefined && v !== 1) { bad.push({ msg, reason: 'wrong-version' }); continue; }
      const parsed = EventV1.safeParse(raw);
      if (!parsed.success) { bad.push({ msg, reason: 'schema' }); continue; }
      if (hostOfEventSubject(msg.subject) !== parsed.data.host) { bad.push({ msg, reason: 'host-mismatch' }); continue; }
      good.push({ msg, event: parsed.data });
    }
    return { good, bad };
  }

  private async deadLetter(msg: JsMsg, reason: string): Promise<void> {
    this.reject(reason);
    const h = headers();
    h.set('Vigil-Reason', reason);
    h.set('Vigil-Subject', msg.subject);
    try {
      await this.js.publish(deadLetterSubject(reason), msg.data, { headers: h });
      msg.ack();
    } catch (err) {
      // Not acked: it comes back and is dead-lettered on the next try.
      this.opts.log.error({ err, 'deadletter.reason': reason }, 'dead-letter publish failed');
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
