import type { JetStreamClient } from 'nats';
import type { Logger } from 'pino';
import { eventSubject, MAX_EVENT_BYTES, type EventV1 } from '@vigil/schema';
import type { Counters } from '../counters.js';

export interface PublisherOptions {
  /** Events held while NATS is slow or away; beyond it new events are dropped and counted. */
  maxQueue: number;
  /** Publishes in flight at once (JetStream acks are awaited per batch). */
  batchSize: number;
  log: Logger;
  counters: Counters;
}

const encoder = new TextEncoder();

/**
 * Publishes events to JetStream with their id as Nats-Msg-Id (the stream drops duplicates of a retry).
 * Order is kept: a batch that fails is put back at the head of the queue and retried after a pause.
 */
export class EventPublisher {
  private queue: EventV1[] = [];
  private head = 0;
  private running = false;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  lastError: string | null = null;

  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: PublisherOptions,
  ) {}

  get depth(): number {
    return this.queue.length - this.head;
  }

  enqueue(events: EventV1[]): void {
    for (const ev of events) {
      if (this.depth >= this.opts.maxQueue) {
        this.opts.counters.eventsDropped++;
        this.opts.counters.reject('publish.queue-full');
        continue;
      }
      this.queue.push(ev);
    }
    this.wake?.();
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stops after trying to publish what is queued, for at most `drainMs`. */
  async stop(drainMs = 3000): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.depth > 0 && Date.now() < deadline && this.lastError === null) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.running = false;
    this.wake?.();
    await this.loopDone;
    if (this.depth > 0) {
      this.opts.counters.eventsDropped += this.depth;
      this.opts.counters.reject('publish.unsent-at-stop', this.depth);
      this.opts.log.warn({ 'publish.unsent': this.depth }, 'stopping with unpublished events');
    }
  }

  private take(n: number): EventV1[] {
    const batch = this.queue.slice(this.head, this.head + n);
    this.head += batch.length;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private putBack(events: EventV1[]): void {
    this.queue = [...events, ...this.queue.slice(this.head)];
    this.head = 0;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (this.depth === 0) {
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = null;
        continue;
      }
      const batch = this.take(this.opts.batchSize);
      const results = await Promise.allSettled(batch.map((ev) => this.publishOne(ev)));
      const failed: EventV1[] = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          if (r.value) this.opts.counters.eventsPublished++;
        } else {
          failed.push(batch[i]!);
          this.lastError = (r.reason as Error)?.message ?? String(r.reason);
        }
      });
      if (failed.length > 0) {
        this.putBack(failed);
        this.opts.log.warn({ 'publish.failed': failed.length, 'publish.error': this.lastError, 'publish.queue': this.depth }, 'publish failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      } else {
        this.lastError = null;
      }
    }
  }

  /** Resolves false when the event could never be sent (too large): counted, not retried. */
  private async publishOne(ev: EventV1): Promise<boolean> {
    const data = encoder.encode(JSON.stringify(ev));
    if (data.byteLength > MAX_EVENT_BYTES) {
      this.opts.counters.eventsDropped++;
      this.opts.counters.reject('publish.oversized');
      return false;
    }
    await this.js.publish(eventSubject(ev.host, ev.kind), data, { msgID: ev.id, timeout: 5000 });
    return true;
  }
}
