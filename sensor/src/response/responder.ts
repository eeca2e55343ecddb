import type { KeyObject } from 'node:crypto';
import type { NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { responseOrderSubject, responseResultSubject, type ResponseResultV1 } from '@vigil/schema';
import type { Counters } from '../counters.js';
import { OrderChecker } from './order-check.js';
import { ResponseExecutor, type ExecutorOptions } from './executor.js';

export interface SensorResponderOptions extends ExecutorOptions {
  host: string;
  key: KeyObject;
  counters: Counters;
  log: Logger;
  nowNs?: () => bigint;
}

/**
 * The sensor's hand: orders from the control plane on responseOrderSubject(host) (core NATS; only
 * the control plane may publish there), checked (order-check.ts), carried out on the live process
 * (executor.ts), and each answered on responseResultSubject(host), refused ones with the reason.
 * Refused orders are counted in the heartbeat's rejects: `response.<check>` for the message's checks,
 * `response.target` for the live process's.
 */
export class SensorResponder {
  private readonly checker: OrderChecker;
  private readonly executor: ResponseExecutor;
  private sub: Subscription | null = null;
  private readonly nowNs: () => bigint;

  constructor(private readonly o: SensorResponderOptions) {
    this.nowNs = o.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.checker = new OrderChecker(o.host, o.key, this.nowNs);
    this.executor = new ResponseExecutor(o);
  }

  subscribe(nc: NatsConnection): void {
    this.sub = nc.subscribe(responseOrderSubject(this.o.host), {
      callback: (err, msg) => {
        if (err) {
          this.o.log.warn({ err }, 'response order subscription failed');
          return;
        }
        const result = this.handle(msg.data);
        if (result) nc.publish(responseResultSubject(this.o.host), JSON.stringify(result));
      },
    });
    this.o.log.info({ 'response.subject': responseOrderSubject(this.o.host) }, 'listening for response orders');
  }

  /** The answer to one order message, or null when it names no order to answer to. */
  handle(data: Uint8Array): ResponseResultV1 | null {
    const checked = this.checker.check(data);
    if (!checked.ok) {
      this.o.counters.reject(`response.${checked.check}`);
      this.o.log.warn({ 'response.orderId': checked.orderId, 'response.check': checked.check }, checked.reason);
      return checked.orderId === null ? null : this.result(checked.orderId, 'refused', checked.reason, []);
    }
    const { order } = checked;
    const done = this.executor.execute(order);
    if (done.outcome === 'refused') this.o.counters.reject('response.target');
    this.o.log.warn(
      {
        'response.orderId': order.id,
        'response.action': order.action,
        'response.pid': order.pid,
        'response.outcome': done.outcome,
        'response.pids': done.pids,
        'response.requestedBy': order.requestedBy,
      },
      `response order: ${done.reason}`,
    );
    return this.result(order.id, done.outcome, done.reason, done.pids);
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  private result(
    orderId: string,
    outcome: ResponseResultV1['outcome'],
    reason: string,
    pids: number[],
  ): ResponseResultV1 {
    return {
      orderId,
      v: 1,
      host: this.o.host,
      outcome,
      reason: reason.slice(0, 2000),
      pids,
      ts: this.nowNs().toString(),
    };
  }
}
