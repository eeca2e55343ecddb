import type { JetStreamClient } from 'nats';
import type { Logger } from 'pino';
import { eventSubject, MAX_EVENT_BYTES, type EventV1 } from '@vigil/schema';
import type { Counters } from '../counters.js';
import type { DiskSpool } from './spool.js';

export interface PublisherOptions {
  /** Events held in memory; beyond it they go to the disk spool (or, without one, are dropped and counted). */
  maxQueue: number;
  spool?: DiskSpool;
  /** Publishes in flight at once (JetStream acks are awaited per batch). */
  batchSize: number;
  log: Logger;
  counters: Counters;
}

const encoder = new TextEncoder();

/**
 * Publishes events to JetStream with their id as Nats-Msg-Id (the stream drops duplicates of a retry).
 * Order is kept: a batch that fails is put back at the head of the queue and retried after a pause.
 * While NATS is away the memory queue fills, then events go to the disk spool; once the spool holds
 * anything, new events follow them there, and the spool is published oldest segment first.
 */
export class EventPublisher {
  private queue: EventV1[] = [];
  private head = 0;
  private running = false;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  lastError: string | null = null;

  private js: JetStreamClient | null;
  /** Events of a spool segment still in the memory queue; the segment is deleted when they are out. */
  private segment: { left: number; done: () => void } | null = null;

  constructor(js: JetStreamClient | null, private readonly opts: PublisherOptions) {
    this.js = js;
  }

  /** Set once NATS is reachable (the sensor starts tracing before that). */
  attach(js: JetStreamClient): void {
    this.js = js;
    this.wake?.();
  }

  get spooled(): { bytes: number; events: number } {
    return { bytes: this.opts.spool?.bytes ?? 0, events: this.opts.spool?.events ?? 0 };
  }

  /**
   * After a failure, publish one event at a time (each ack awaited) until memory and spool are
   * drained: pipelined publishes that fail part-way would store later events before earlier ones.
   */
  private careful = false;

  /** Events being published right now (put back at the head if their batch fails). */
  private inFlight = 0;

  /** Events waiting in memory, in flight included. */
  get depth(): number {
    return this.queue.length - this.head + this.inFlight;
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  enqueue(events: EventV1[]): void {
    const spool = this.opts.spool;
    let i = 0;
    // Memory first, as long as nothing waits on disk (that would overtake it).
    while (i < events.length && this.depth < this.opts.maxQueue && (!spool || (spool.empty && !this.segment))) this.queue.push(events[i++]!);
    if (i < events.length) {
      const rest = events.slice(i);
      const written = spool ? spool.append(rest) : 0;
      const dropped = rest.length - written;
      if (dropped > 0) {
        this.opts.counters.eventsDropped += dropped;
        this.opts.counters.reject(spool ? 'publish.spool-full' : 'publish.queue-full', dropped);
      }
    }
    this.wake?.();
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  /**
   * Stops after trying to publish what is queued, for at most `drainMs`; what is still in memory then
   * goes to the spool (replayed by the next start), or is counted as dropped without one.
   */
  async stop(drainMs = 3000): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.depth > 0 && Date.now() < deadline && this.lastError === null && this.js) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.running = false;
    this.wake?.();
    await this.loopDone;
    if (this.depth > 0 && this.opts.spool && !this.segment) {
      const left = this.queue.slice(this.head);
      const written = this.opts.spool.append(left);
      this.queue = left.slice(written);
      this.head = 0;
      if (written > 0) this.opts.log.info({ 'spool.saved': written }, 'unsent events saved to the spool');
    }
    if (this.depth > 0 && !this.segment) {
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
      if (this.queued === 0 && !this.segment && this.opts.spool && !this.opts.spool.empty && this.js) {
        const seg = this.opts.spool.takeOldest();
        if (seg) {
          this.queue.push(...seg.events);
          this.segment = { left: seg.events.length, done: seg.done };
          if (seg.events.length === 0) { seg.done(); this.segment = null; }
        }
      }
      if (this.queued === 0 || !this.js) {
        await new Promise<void>((r) => { this.wake = r; if (!this.js) setTimeout(r, 500); });
        this.wake = null;
        continue;
      }
      const batch = this.take(this.careful ? 1 : this.opts.batchSize);
      const js = this.js;
      this.inFlight = batch.length;
      const results = await Promise.allSettled(batch.map((ev) => this.publishOne(js, ev)));
      this.inFlight = 0;
      const failed: EventV1[] = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          if (r.value) this.opts.counters.eventsPublished++;
        } else {
          failed.push(batch[i]!);
          this.lastError = (r.reason as Error)?.message ?? String(r.reason);
        }
      });
      if (this.segment) {
        this.segment.left -= batch.length - failed.length;
        if (this.segment.left <= 0) { this.segment.done(); this.segment = null; }
      }
      if (failed.length > 0) {
        this.careful = true;
        this.putBack(failed);
        this.opts.log.warn({ 'publish.failed': failed.length, 'publish.error': this.lastError, 'publish.queue': this.depth }, 'publish failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      } else {
        this.lastError = null;
        if (this.careful && this.queued === 0 && !this.segment && (this.opts.spool?.empty ?? true)) this.careful = false;
      }
    }
  }

  /** Resolves false when the event could never be sent (too large): counted, not retried. */
  private async publishOne(js: JetStreamClient, ev: EventV1): Promise<boolean> {
    const data = encoder.encode(JSON.stringify(ev));
    if (data.byteLength > MAX_EVENT_BYTES) {
      this.opts.counters.eventsDropped++;
      this.opts.counters.reject('publish.oversized');
      return false;
    }
    await js.publish(eventSubject(ev.host, ev.kind), data, { msgID: ev.id, timeout: 5000 });
    return true;
  }
}
