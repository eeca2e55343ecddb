import { randomUUID, sign, type KeyObject } from 'node:crypto';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import {
  DEFAULT_RESPONSE_ANSWER_SECONDS,
  ResponseResultV1,
  responseOrderSubject,
  responseSigningBytes,
  type ResponseOrderV1,
  type ResponseOutcome,
  type ResponseRecordV1,
} from '@vigil/schema';
import type { ResponseStore } from './store.js';

/** What a caller decides of an order; the responder adds its id, times and signature. */
export type OrderRequest = Omit<ResponseOrderV1, 'id' | 'v' | 'issuedTs' | 'expiresTs' | 'signature'>;

export interface ResponderOptions {
  nc: NatsConnection;
  key: KeyObject;
  store: ResponseStore;
  log: Logger;
  answerSeconds?: number;
  /** Told of every record once its result (or no-answer) is known: the incident it belongs to joins it. */
  onRecord?: (record: ResponseRecordV1) => void | Promise<void>;
}

/** Every sensor's answers: `vigil.sensor.<host>.response`. */
const RESULTS_SUBJECT = 'vigil.sensor.*.response';
const MAX_PENDING = 10_000;

export class ResponderBusyError extends Error {
  override name = 'ResponderBusyError';
}

interface Pending {
  order: ResponseOrderV1;
  timer: NodeJS.Timeout;
  done: (record: ResponseRecordV1) => void;
}

/**
 * Sends response orders to sensors and keeps the audit: each order is signed with the control plane's
 * key, stored, published on the host's order subject (core NATS: an order is worth nothing late), and
 * waited for; the sensor's answer, or `no-answer` after the wait, completes the record. An answer is
 * taken only from the subject of the host the order went to: one a host sends for another host's
 * order, or for no order, is refused and counted.
 */
export class Responder {
  readonly stats = {
    outcomes: {} as Record<string, number>,
    rejectedResults: {} as Record<string, number>,
  };
  private readonly pending = new Map<string, Pending>();
  private sub: Subscription | null = null;
  private readonly answerMs: number;

  constructor(private readonly o: ResponderOptions) {
    this.answerMs = (o.answerSeconds ?? DEFAULT_RESPONSE_ANSWER_SECONDS) * 1000;
  }

  get waiting(): number {
    return this.pending.size;
  }

  start(): void {
    this.sub = this.o.nc.subscribe(RESULTS_SUBJECT, {
      callback: (err, msg) => {
        if (!err) this.onResult(msg.subject, msg.data);
      },
    });
  }

  /** Signs, stores and sends an order; resolves with its record once answered or given up on. */
  async order(req: OrderRequest): Promise<ResponseRecordV1> {
    if (this.pending.size >= MAX_PENDING)
      throw new ResponderBusyError(`${MAX_PENDING} orders are waiting for an answer`);
    const now = BigInt(Date.now()) * 1_000_000n;
    const unsigned: Omit<ResponseOrderV1, 'signature'> = {
      ...req,
      id: randomUUID(),
      v: 1,
      issuedTs: now.toString(),
      expiresTs: (now + BigInt(this.answerMs) * 1_000_000n).toString(),
    };
    const order: ResponseOrderV1 = {
      ...unsigned,
      signature: sign(null, responseSigningBytes(unsigned), this.o.key).toString('base64'),
    };
    const answered = new Promise<ResponseRecordV1>((done) => {
      const timer = setTimeout(() => this.finish(order.id, null), this.answerMs);
      this.pending.set(order.id, { order, timer, done });
    });
    void this.save({ order, result: null });
    this.o.nc.publish(responseOrderSubject(order.host), JSON.stringify(order));
    this.o.log.warn(
      {
        'response.orderId': order.id,
        'response.host': order.host,
        'response.pid': order.pid,
        'response.action': order.action,
        'response.requestedBy': order.requestedBy,
        'response.dryRun': order.dryRun,
      },
      'response order sent',
    );
    return answered;
  }

  stop(): void {
    this.sub?.unsubscribe();
    for (const id of [...this.pending.keys()]) this.finish(id, null);
  }

  private onResult(subject: string, data: Uint8Array): void {
    const checked = this.checkResult(subject, data);
    if (typeof checked === 'string') this.reject(checked);
    else this.finish(checked.orderId, checked);
  }

  /** The answer to a pending order, or why it is refused. */
  private checkResult(subject: string, data: Uint8Array): ResponseResultV1 | string {
    const host = subject.split('.')[2] ?? '';
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch {
      return 'json';
    }
    const parsed = ResponseResultV1.safeParse(raw);
    // `no-answer` is the control plane's to record, never a sensor's to send.
    if (!parsed.success || parsed.data.outcome === 'no-answer') return 'schema';
    const result = parsed.data;
    const p = this.pending.get(result.orderId);
    if (result.host !== host || (p && p.order.host !== host)) return 'host-mismatch';
    return p ? result : 'unknown-order';
  }

  private reject(why: string): void {
    this.stats.rejectedResults[why] = (this.stats.rejectedResults[why] ?? 0) + 1;
  }

  private finish(orderId: string, answer: ResponseResultV1 | null): void {
    const p = this.pending.get(orderId);
    if (!p) return;
    this.pending.delete(orderId);
    clearTimeout(p.timer);
    const result: ResponseResultV1 = answer ?? {
      orderId,
      v: 1,
      host: p.order.host,
      outcome: 'no-answer',
      reason: `no answer from the sensor of ${p.order.host} within ${this.answerMs / 1000}s`,
      pids: [],
      ts: (BigInt(Date.now()) * 1_000_000n).toString(),
    };
    this.count(result.outcome);
    const record = { order: p.order, result };
    this.o.log.warn(
      { 'response.orderId': orderId, 'response.outcome': result.outcome, 'response.pids': result.pids },
      `response: ${result.reason}`,
    );
    void this.save(record);
    p.done(record);
    if (this.o.onRecord)
      Promise.resolve(this.o.onRecord(record)).catch((err: unknown) =>
        this.o.log.warn({ err, 'response.orderId': orderId }, 'the response did not join its incident'),
      );
  }

  private count(outcome: ResponseOutcome): void {
    this.stats.outcomes[outcome] = (this.stats.outcomes[outcome] ?? 0) + 1;
  }

  private async save(record: ResponseRecordV1): Promise<void> {
    try {
      await this.o.store.save(record);
    } catch (err) {
      this.o.log.error({ err, 'response.orderId': record.order.id }, 'response not stored in the audit');
    }
  }
}
