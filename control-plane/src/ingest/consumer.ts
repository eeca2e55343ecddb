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
  log: Logger;
  /** Called with the events of each stored batch (detections hook here). */
  onStored?: (events: EventV1[]) => void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Pulls events from the durable consumer, validates them, inserts each batch into ClickHouse and only
 * then acks it. A message that can never be stored (not JSON, wrong shape or version, too large, host
 * differing from its subject's) goes to the dead-letter stream with the reason and is acked: the
 * consumer never stalls on it. While storage refuses, nothing is acked and the batch is retried.
 */
export class EventIngestor {
  readonly stats: IngestStats = { stored: 0, batches: 0, rejects: {}, lastInsertError: null, storageHealthy: true };
  private running = false;
  private done: Promise<void> | null = null;

  constructor(
    private readonly js: JetStreamClient,
    private readonly ch: ClickHouseClient,
    private readonly opts: IngestOptions,
  ) {}

  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private reject(reason: string): void {
    this.stats.rejects[reason] = (this.stats.rejects[reason] ?? 0) + 1;
  }

  private async loop(): Promise<void> {
    const consumer = await this.js.consumers.get(EVENTS_STREAM, CONSUMER_NAME);
    let backoff = 250;
    while (this.running) {
      let msgs: JsMsg[] = [];
      try {
        const batch = await consumer.fetch({ max_messages: this.opts.batchSize, expires: 1000 });
        for await (const m of batch) msgs.push(m);
      } catch (err) {
        this.opts.log.warn({ err }, 'fetch failed');
        await sleep(1000);
        continue;
      }
      this.opts.log.debug({ 'ingest.fetched': msgs.length }, 'fetched');
      if (msgs.length === 0) continue;
      const { good, bad } = this.validate(msgs);
      for (const b of bad) await this.deadLetter(b.msg, b.reason);
      // Storage must accept the batch before anything is acked; retry with backoff until it does.
      while (this.running || good.length > 0) {
        try {
          if (good.length > 0) {
            this.opts.log.debug({ 'ingest.batch': good.length }, 'inserting');
            await this.ch.insert({ table: 'events', values: good.map((g) => eventRow(g.event)), format: 'JSONEachRow' });
          }
          for (const g of good) g.msg.ack();
          this.stats.stored += good.length;
          this.stats.batches++;
          this.stats.storageHealthy = true;
          this.stats.lastInsertError = null;
          backoff = 250;
          if (good.length > 0) this.opts.onStored?.(good.map((g) => g.event));
          break;
        } catch (err) {
          this.stats.storageHealthy = false;
          this.stats.lastInsertError = (err as Error).message;
          this.opts.log.error({ err, 'ingest.batch': good.length, 'ingest.backoffMs': backoff }, 'insert failed; not acking, will retry');
          // Keep the messages ours while we wait, so JetStream does not redeliver them meanwhile.
          for (const g of good) g.msg.working();
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 10_000);
          if (!this.running) break;
        }
      }
      msgs = [];
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
