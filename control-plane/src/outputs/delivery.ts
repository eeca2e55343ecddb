import { headers, type Consumer, type JetStreamClient, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import {
  deadLetterSubject,
  durationToMs,
  OUTPUT_MAX_ATTEMPTS,
  OUTPUT_RETRY_BASE_MS,
  OUTPUT_RETRY_CAP_MS,
  type OutputConfig,
} from '@vigil/schema';
import { backoffMs, pause } from '../store/outage.js';
import { tryTo } from '../ingest/store-stage.js';
import { readMessage, selected, type OutputMessage, type Sender } from './message.js';

/** One output's figures, as the status and /metrics report them. */
export interface OutputStats {
  sent: number;
  /** Attempts that failed (each retry that fails counts again). */
  failed: number;
  /** Messages failed and waiting for their next attempt. */
  retrying: number;
  deadLettered: number;
  /** Acked unsent: below minSeverity or outside the rules. */
  skipped: number;
  /** Acked unsent: this delivery id (or a newer version of the incident) went out already. */
  duplicates: number;
  lastError: string | null;
}

/** The delay before attempt `attempt + 1`: doubling from the base, capped. */
export const retryDelayMs = (attempt: number): number => backoffMs(attempt, OUTPUT_RETRY_BASE_MS, OUTPUT_RETRY_CAP_MS);

/** Empty fetches (5 s each) after which the consumer is looked for again. */
const IDLE_FETCHES_BEFORE_CHECK = 2;

/** Delivery ids remembered per output, for redeliveries this process can tell apart. */
const REMEMBERED = 10_000;

/**
 * One output's delivery loop over its durable consumer: one message at a time, in stream order.
 * Success acks; a failure naks with a growing delay, and after maxAttempts the message is published
 * to vigil.deadletter.output.<name> with the last error, then acked. At-least-once: a message whose
 * send succeeded but whose ack was lost (a crash in between) is sent again by the next control
 * plane, under the same X-Vigil-Delivery id.
 */
export class OutputDelivery {
  readonly stats: OutputStats = {
    sent: 0,
    failed: 0,
    retrying: 0,
    deadLettered: 0,
    skipped: 0,
    duplicates: 0,
    lastError: null,
  };
  private readonly sentIds = new Set<string>();
  /** Per incident, the highest version sent: an older one redelivered after a newer went out is stale. */
  private readonly sentVersions = new Map<string, number>();
  private readonly waiting = new Set<number>();
  /** Per incident, the newest version seen, sent or not. */
  private readonly newestSeen = new Map<string, number>();
  /** Per incident, since when a version of it waits unsent (the bound on settling). */
  private readonly unsentSince = new Map<string, number>();
  /** Per message (stream sequence), the deliveries it spent settling. */
  private readonly holds = new Map<number, number>();
  private readonly settleMs: number;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private batch: { stop(): void } | null = null;
  private readonly maxAttempts: number;
  /** The highest stream sequence handled. */
  private lastSeq = 0;

  constructor(
    readonly cfg: OutputConfig,
    /** The output's consumer, made when missing; from `resumeSeq` on when given (one deleted under us). */
    private readonly open: (resumeSeq?: number) => Promise<Consumer>,
    private readonly sender: Sender,
    private readonly js: JetStreamClient,
    private readonly log: Logger,
  ) {
    this.maxAttempts = 'maxAttempts' in cfg ? cfg.maxAttempts : OUTPUT_MAX_ATTEMPTS;
    this.settleMs = cfg.send === 'incidents' ? durationToMs(cfg.settle) : 0;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Where a consumer made again resumes: at the first message still waiting for a retry, else after
   * the last one handled (what this run sent before is remembered and not sent twice).
   */
  private resumeSeq(): number | undefined {
    if (this.waiting.size > 0) return Math.min(...this.waiting);
    return this.lastSeq > 0 ? this.lastSeq + 1 : undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let consumer: Consumer | null = null;
    let idle = 0;
    while (!this.stopping.signal.aborted) {
      try {
        // Anyone allowed to manage JetStream can delete the consumer: fetches then fail or come back
        // empty, so it is looked for again after a failure and after a while of empty fetches.
        consumer ??= await this.open(this.resumeSeq());
        const batch = await consumer.fetch({ max_messages: 64, expires: 5000 });
        this.batch = batch;
        let got = 0;
        for await (const m of batch) {
          got++;
          // Stopping: hand the rest back now, so the next control plane has them without waiting out ack_wait.
          if (this.stopping.signal.aborted) tryTo(() => m.nak());
          else await this.handle(m);
        }
        idle = got > 0 ? 0 : idle + 1;
        if (idle >= IDLE_FETCHES_BEFORE_CHECK) {
          idle = 0;
          consumer = null;
        }
        failures = 0;
      } catch (err) {
        failures++;
        consumer = null;
        this.log.warn({ err, output: this.cfg.name }, "output's consumer is out of reach; retrying");
        await pause(Math.min(30_000, 500 * 2 ** failures), this.stopping.signal);
      } finally {
        this.batch = null;
      }
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    this.lastSeq = Math.max(this.lastSeq, m.info.streamSequence);
    let msg: OutputMessage;
    try {
      msg = readMessage(this.cfg.send, m.data);
    } catch (err) {
      await this.deadLetter(m, err as Error);
      return;
    }
    if (!selected(this.cfg, msg)) {
      this.stats.skipped++;
      tryTo(() => m.ack());
      return;
    }
    if (this.alreadySent(msg) || this.superseded(msg)) {
      this.stats.duplicates++;
      this.settled(m);
      tryTo(() => m.ack());
      return;
    }
    const waitMs = msg.kind === 'incident' ? this.settleWait(m, msg.data.id) : 0;
    if (waitMs > 0) {
      this.holds.set(m.info.streamSequence, (this.holds.get(m.info.streamSequence) ?? 0) + 1);
      tryTo(() => m.nak(waitMs));
      return;
    }
    try {
      await this.sender.send(msg);
    } catch (err) {
      this.stats.failed++;
      this.stats.lastError = (err as Error).message;
      const attempt = this.attempts(m);
      if (attempt >= this.maxAttempts) await this.deadLetter(m, err as Error);
      else {
        this.waiting.add(m.info.streamSequence);
        this.stats.retrying = this.waiting.size;
        this.log.debug({ err, output: this.cfg.name, attempt }, 'output delivery failed; retrying');
        tryTo(() => m.nak(retryDelayMs(attempt)));
      }
      return;
    }
    this.remember(msg);
    this.stats.sent++;
    this.stats.lastError = null;
    this.settled(m);
    try {
      await m.ackAck();
    } catch {
      /* redelivered later: the id is remembered, so this process does not send it twice */
    }
  }

  /**
   * An incident version is superseded by a newer one seen since (it waited to settle, or failed and
   * waited to retry): the newer one is what goes out.
   */
  private superseded(msg: OutputMessage): boolean {
    if (msg.kind !== 'incident') return false;
    const newest = this.newestSeen.get(msg.data.id) ?? 0;
    if (msg.data.version > newest) {
      this.newestSeen.set(msg.data.id, msg.data.version);
      if (this.newestSeen.size > REMEMBERED) this.newestSeen.delete(this.newestSeen.keys().next().value!);
    }
    return msg.data.version < newest;
  }

  /**
   * How much longer an incident version waits before it goes out: until it is `settle` old, and no
   * later than six settles after this incident's first unsent version was seen (one that keeps
   * changing still goes out).
   */
  private settleWait(m: JsMsg, id: string): number {
    if (this.settleMs === 0) return 0;
    const now = Date.now();
    let first = this.unsentSince.get(id);
    if (first === undefined) {
      first = now;
      this.unsentSince.set(id, now);
      if (this.unsentSince.size > REMEMBERED) this.unsentSince.delete(this.unsentSince.keys().next().value!);
    }
    const publishedMs = Number(m.info.timestampNanos / 1_000_000);
    // The stream's clock may differ from this host's: a version never waits more than one settle from now.
    const due = Math.min(publishedMs + this.settleMs, first + 6 * this.settleMs, now + this.settleMs);
    return Math.max(0, Math.ceil(due - now));
  }

  private alreadySent(msg: OutputMessage): boolean {
    if (this.sentIds.has(msg.deliveryId)) return true;
    return msg.kind === 'incident' && (this.sentVersions.get(msg.data.id) ?? 0) >= msg.data.version;
  }

  private remember(msg: OutputMessage): void {
    this.sentIds.add(msg.deliveryId);
    if (this.sentIds.size > REMEMBERED) this.sentIds.delete(this.sentIds.values().next().value!);
    if (msg.kind !== 'incident') return;
    this.unsentSince.delete(msg.data.id);
    this.sentVersions.delete(msg.data.id);
    this.sentVersions.set(msg.data.id, msg.data.version);
    if (this.sentVersions.size > REMEMBERED) this.sentVersions.delete(this.sentVersions.keys().next().value!);
  }

  /** Deliveries of the message that tried to send it: those spent settling are no attempts. */
  private attempts(m: JsMsg): number {
    return m.info.deliveryCount - (this.holds.get(m.info.streamSequence) ?? 0);
  }

  private settled(m: JsMsg): void {
    this.holds.delete(m.info.streamSequence);
    this.waiting.delete(m.info.streamSequence);
    this.stats.retrying = this.waiting.size;
  }

  /** Parks the message as it was sent, with the last error; acked once parked, else it comes back. */
  private async deadLetter(m: JsMsg, err: Error): Promise<void> {
    try {
      const h = headers();
      h.set('Vigil-Reason', `output.${this.cfg.name}`);
      h.set('Vigil-Error', err.message.replace(/[\r\n]+/g, ' ').slice(0, 1000));
      h.set('Vigil-Attempts', String(this.attempts(m)));
      h.set('Vigil-Subject', m.subject);
      h.set('Vigil-Stream-Seq', String(m.info.streamSequence));
      await this.js.publish(deadLetterSubject(`output.${this.cfg.name}`), m.data, { headers: h });
    } catch (pubErr) {
      this.log.error({ err: pubErr, output: this.cfg.name }, 'dead-letter publish failed; retrying the message');
      tryTo(() => m.nak(retryDelayMs(this.attempts(m))));
      return;
    }
    this.stats.deadLettered++;
    this.stats.lastError = err.message;
    this.settled(m);
    this.log.warn({ output: this.cfg.name, err, attempts: this.attempts(m) }, 'output message dead-lettered');
    tryTo(() => m.ack());
  }

  /** Finishes the message under way (its send is bounded by the output's timeout), then closes the sender. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.batch?.stop();
    await this.loop;
    await this.sender.close();
  }
}
