import { headers, type JetStreamClient, type MsgHdrs } from 'nats';
import type { Logger } from 'pino';
import {
  batchId,
  eventSubject,
  EVENTS_HEADER,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  type EventV1,
} from '@vigil/schema';
import type { Counters } from '../counters.js';
import type { StageLatency } from '../latency.js';
import type { DiskSpool } from './spool.js';
import { encodeEvent } from './encode.js';

export interface PublisherOptions {
  /** Events held in memory; beyond it they go to the disk spool (or, without one, are dropped and counted). */
  maxQueue: number;
  spool?: DiskSpool;
  /** Events taken from the queue per round; their batches are published at once and acked together. */
  eventsPerRound?: number;
  /**
   * While busy (a round of at least `busyEvents` went out within the last `quietMs`), how long a
   * round waits for company before it is sent. Any other round goes at once.
   */
  lingerMs?: number;
  quietMs?: number;
  busyEvents?: number;
  log: Logger;
  counters: Counters;
  /**
   * Where the time from queueing an event to its batch's first publish (stage `publish.sent`: the
   * wait for company, or for the previous round's acks) and to its ack (`publish.acked`, retries
   * included) is observed.
   */
  latency?: StageLatency;
}

/** One JetStream message: events of one kind, already encoded. */
interface Batch {
  subject: string;
  msgID: string;
  data: Uint8Array;
  /** The events encoded in `data` (put back in the spool if still unsent at stop). */
  events: EventV1[];
  /** When each was queued (performance.now(); NaN for events read back from the spool). */
  queuedAt: number[];
  /** Published at least once (a retry is not observed as sent again). */
  tried?: boolean;
  headers: MsgHdrs;
}

const encoder = new TextEncoder();

/**
 * Publishes events to JetStream in batches (EventBatchV1): events of one kind per message, a stable
 * batch id as Nats-Msg-Id (a retried batch is dropped by the stream's dedup window).
 * Order is kept: batches that fail stay at the head, unchanged, and are retried after a pause, one at
 * a time until everything waiting has gone out. While NATS is away the memory queue fills, then events
 * go to the disk spool; once the spool holds anything, new events follow them there, and the spool is
 * published oldest segment first.
 */
export class EventPublisher {
  private queue: EventV1[] = [];
  /** When each event of `queue` was queued, index for index. */
  private queuedAt: number[] = [];
  private head = 0;
  /** Batches formed and not yet acked, oldest first, and how many events they hold. */
  private pending: Batch[] = [];
  private pendingEvents = 0;
  private running = false;
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  lastError: string | null = null;
  /** Messages sent (each holding one or more events). */
  messagesPublished = 0;
  /** When the last round of at least `busyEvents` events went out. */
  private lastBusyRoundAt = -Infinity;

  private js: JetStreamClient | null;
  /** Events of a spool segment still in memory; the segment is deleted when they are out. */
  private segment: { left: number; done: () => void } | null = null;

  constructor(
    js: JetStreamClient | null,
    private readonly opts: PublisherOptions,
  ) {
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
   * After a failure, publish one batch at a time (each ack awaited) until memory and spool are
   * drained: pipelined publishes that fail part-way would store later events before earlier ones.
   */
  private careful = false;

  /** Events waiting in memory, formed batches included. */
  get depth(): number {
    return this.queued + this.pendingEvents;
  }

  private setPending(batches: Batch[]): void {
    this.pending = batches;
    this.pendingEvents = batches.reduce((n, b) => n + b.events.length, 0);
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  enqueue(events: EventV1[]): void {
    const spool = this.opts.spool;
    let i = 0;
    const now = performance.now();
    // Memory first, as long as nothing waits on disk (that would overtake it).
    while (i < events.length && this.depth < this.opts.maxQueue && (!spool || (spool.empty && !this.segment))) {
      this.queue.push(events[i++]!);
      this.queuedAt.push(now);
    }
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
    const left = this.depth;
    if (left > 0 && this.opts.spool && !this.segment) {
      const events = [...this.pending.flatMap((b) => b.events), ...this.queue.slice(this.head)];
      const written = this.opts.spool.append(events);
      this.setPending([]);
      this.queue = events.slice(written);
      this.queuedAt = this.queue.map(() => NaN);
      this.head = 0;
      if (written > 0) this.opts.log.info({ 'spool.saved': written }, 'unsent events saved to the spool');
    }
    if (this.depth > 0 && !this.segment) {
      this.opts.counters.eventsDropped += this.depth;
      this.opts.counters.reject('publish.unsent-at-stop', this.depth);
      this.opts.log.warn({ 'publish.unsent': this.depth }, 'stopping with unpublished events');
    }
  }

  private take(n: number): { events: EventV1[]; queuedAt: number[] } {
    const out = this.queue.slice(this.head, this.head + n);
    const queuedAt = this.queuedAt.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.queuedAt = this.queuedAt.slice(this.head);
      this.head = 0;
    }
    return { events: out, queuedAt };
  }

  /**
   * Groups events by kind (in order within a kind) into batches under the size limits. An event too
   * large to ever be sent is dropped here and counted.
   */
  private form(events: EventV1[], queuedAt: number[]): Batch[] {
    const byKind = new Map<string, { parts: string[]; events: EventV1[]; queuedAt: number[]; bytes: number }[]>();
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      const json = encodeEvent(ev);
      const bytes = Buffer.byteLength(json);
      if (bytes > MAX_EVENT_BYTES) {
        this.opts.counters.eventsDropped++;
        this.opts.counters.reject('publish.oversized');
        continue;
      }
      const key = `${ev.host}\u0000${ev.kind}`;
      let groups = byKind.get(key);
      if (!groups) byKind.set(key, (groups = []));
      let g = groups[groups.length - 1];
      if (!g || g.parts.length >= MAX_BATCH_EVENTS || g.bytes + bytes + 1 > MAX_BATCH_BYTES - 256) {
        g = { parts: [], events: [], queuedAt: [], bytes: 0 };
        groups.push(g);
      }
      g.parts.push(json);
      g.events.push(ev);
      g.queuedAt.push(queuedAt[i]!);
      g.bytes += bytes + 1;
    }
    const out: Batch[] = [];
    for (const groups of byKind.values()) {
      for (const g of groups) {
        const { host, kind } = g.events[0]!;
        const body = `{"v":1,"host":${JSON.stringify(host)},"kind":${JSON.stringify(kind)},"events":[${g.parts.join(',')}]}`;
        const h = headers();
        h.set(EVENTS_HEADER, String(g.events.length));
        out.push({
          subject: eventSubject(host, kind),
          msgID: batchId(g.events),
          data: encoder.encode(body),
          events: g.events,
          queuedAt: g.queuedAt,
          headers: h,
        });
      }
    }
    return out;
  }

  /** Each round: refill from the spool when idle, wait for work, form batches, send them. */
  private async loop(): Promise<void> {
    while (this.running) {
      this.refillFromSpool();
      if ((this.queued === 0 && this.pending.length === 0) || !this.js) {
        await this.idle();
        continue;
      }
      if (this.pending.length === 0 && !(await this.formRound())) continue;
      await this.sendRound(this.js);
    }
  }

  /** With nothing else to send and NATS there, the oldest spooled segment goes next. */
  private refillFromSpool(): void {
    const spool = this.opts.spool;
    if (this.queued !== 0 || this.pending.length !== 0 || this.segment || !spool || spool.empty || !this.js) return;
    const seg = spool.takeOldest();
    if (!seg) return;
    this.queue.push(...seg.events);
    for (let i = 0; i < seg.events.length; i++) this.queuedAt.push(NaN);
    this.segment = { left: seg.events.length, done: seg.done };
    if (seg.events.length === 0) {
      seg.done();
      this.segment = null;
    }
  }

  /** Until enqueue() wakes it, or half a second while NATS is away. */
  private async idle(): Promise<void> {
    await new Promise<void>((r) => {
      this.wake = r;
      if (!this.js) setTimeout(r, 500);
    });
    this.wake = null;
  }

  /**
   * Takes the next round's events into batches. The sensor hands over a flush's events together, so a
   * round waits only for the rest of this turn of the event loop: an alert's way is the shorter. While
   * busy (an exec storm flushes a hundred events or more every tick), a round waits a moment for the
   * next flush's events, so the stream and the control plane see fewer, larger messages. A quiet
   * host's few events a tick do not count as busy: a process's exec and exit often come in two
   * releases a tick apart, and the second waited out the linger too (the sensor's `publish.sent`
   * latency). False when the events made no batch.
   */
  private async formRound(): Promise<boolean> {
    const perRound = this.opts.eventsPerRound ?? 5000;
    const linger = this.opts.lingerMs ?? 20;
    const busy = performance.now() - this.lastBusyRoundAt < (this.opts.quietMs ?? 100);
    if (busy && linger > 0 && this.queued < perRound && this.running) await new Promise((r) => setTimeout(r, linger));
    else await new Promise((r) => setImmediate(r));
    const taken = this.take(perRound);
    if (taken.events.length >= (this.opts.busyEvents ?? 64)) this.lastBusyRoundAt = performance.now();
    this.setPending(this.form(taken.events, taken.queuedAt));
    this.segmentProgress(taken.events.length - this.pendingEvents);
    return this.pending.length > 0;
  }

  /**
   * Publishes the pending batches (only the first while careful after a failure); the failed ones
   * stay at the head in their order and are retried after a pause.
   */
  private async sendRound(js: JetStreamClient): Promise<void> {
    const round = this.careful ? this.pending.slice(0, 1) : this.pending.slice();
    const sentAt = performance.now();
    for (const b of round) {
      if (this.opts.latency && !b.tried)
        for (const t of b.queuedAt) if (!Number.isNaN(t)) this.opts.latency.observe('publish.sent', sentAt - t);
      b.tried = true;
    }
    const results = await Promise.allSettled(
      round.map((b) => js.publish(b.subject, b.data, { msgID: b.msgID, headers: b.headers, timeout: 5000 })),
    );
    let failed = 0;
    let sent = 0;
    const ackedAt = performance.now();
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        // Events read back from the spool waited out an outage, which is not the publisher's latency.
        if (this.opts.latency)
          for (const t of round[i]!.queuedAt)
            if (!Number.isNaN(t)) this.opts.latency.observe('publish.acked', ackedAt - t);
        this.messagesPublished++;
        this.opts.counters.eventsPublished += round[i]!.events.length;
        sent += round[i]!.events.length;
      } else {
        failed++;
        this.lastError = (r.reason as Error)?.message ?? String(r.reason);
      }
    });
    this.setPending([
      ...round.filter((_, i) => results[i]!.status === 'rejected'),
      ...this.pending.slice(round.length),
    ]);
    this.segmentProgress(sent);
    if (failed > 0) {
      this.careful = true;
      this.opts.log.warn(
        { 'publish.failedBatches': failed, 'publish.error': this.lastError, 'publish.queue': this.depth },
        'publish failed; retrying',
      );
      await new Promise((r) => setTimeout(r, 500));
      return;
    }
    this.lastError = null;
    const drained = this.queued === 0 && this.pending.length === 0 && !this.segment;
    if (this.careful && drained && (this.opts.spool?.empty ?? true)) this.careful = false;
  }

  private segmentProgress(events: number): void {
    if (!this.segment || events <= 0) return;
    this.segment.left -= events;
    if (this.segment.left <= 0) {
      this.segment.done();
      this.segment = null;
    }
  }
}
