import { EventEmitter } from 'node:events';
import type { ClickHouseClient } from '@clickhouse/client';
import type { JetStreamClient } from 'nats';
import type { Logger } from 'pino';
import { alertSubject, SEVERITIES, type AlertV1 } from '@vigil/schema';
import { insertRows } from '../store/row-insert.js';
import { wellFormedJson } from '../store/well-formed-json.js';
import { backoffMs, OutageLog, pause } from '../store/outage.js';

export const severityRank = (s: AlertV1['severity']): number => SEVERITIES.indexOf(s);

/** The alerts table's row; ts and last_ts are derived by the table from the nanosecond text (migrations 0006-0007). */
const alertRow = (a: AlertV1) => ({
  id: a.id,
  host: a.host,
  ts_ns: a.ts,
  last_ts_ns: a.lastTs,
  rule_id: a.ruleId,
  severity: a.severity,
  severity_n: severityRank(a.severity),
  source: a.source,
  title: a.title,
  reason: a.reason,
  pid: a.proc?.pid ?? 0,
  comm: a.proc?.comm ?? '',
  exe: a.proc?.exe ?? '',
  count: a.count,
  alert: wellFormedJson(a),
  // suppressed_alerts only (migration 0017): which suppression held it back.
  ...(a.suppressed
    ? {
        suppression_index: a.suppressed.index,
        suppression_rule: a.suppressed.rule,
        suppression_reason: a.suppressed.reason,
      }
    : {}),
});

/** Where a sink keeps its alerts: raised ones (stored and published), or those suppressions held back (stored only). */
export interface AlertSinkTarget {
  table: 'alerts' | 'suppressed_alerts';
  publish: boolean;
}

/**
 * Where alerts go: live listeners at once (`vigil alerts --follow`), then ClickHouse and JetStream
 * (vigil.alerts.<host>.<severity>) in small batches, retried until accepted or until the sink stops
 * (backing off, one log line per change of state). Bounded; drops counted.
 */
export class AlertSink {
  readonly live = new EventEmitter();
  private queue: AlertV1[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  stats = { raised: 0, stored: 0, published: 0, dropped: 0, lastError: null as string | null };
  private readonly stopping = new AbortController();
  private readonly outage: OutageLog;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly js: JetStreamClient,
    private readonly log: Logger,
    private readonly maxQueue = 50_000,
    private readonly target: AlertSinkTarget = { table: 'alerts', publish: true },
  ) {
    this.live.setMaxListeners(1000);
    this.outage = new OutageLog(log, {
      down: 'alerts not stored; retrying',
      still: 'alerts still not stored',
      up: 'alerts stored again',
    });
  }

  push(alert: AlertV1): void {
    this.stats.raised++;
    this.live.emit('alert', alert);
    if (this.queue.length >= this.maxQueue) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(alert);
    // Alerts raised by one batch of events go out together, on the next turn of the event loop.
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, 0);
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, 500);
        // On NATS while the insert runs (it may wait behind an events insert): subscribers hear of an
        // alert first, and once, however often the insert is retried.
        const published = this.target.publish ? this.publish(batch) : Promise.resolve();
        let stored = false;
        do {
          try {
            await insertRows(this.ch, this.target.table, batch.map(alertRow));
            stored = true;
            this.outage.succeeded();
          } catch (err) {
            this.stats.lastError = (err as Error).message;
            this.outage.failed(err);
          }
        } while (!stored && (await pause(backoffMs(this.outage.failures), this.stopping.signal)));
        await published;
        if (!stored) return;
        this.stats.stored += batch.length;
        this.queue.splice(0, batch.length);
        this.stats.lastError = null;
      }
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Never throws: a failure is logged, and the alert stays stored. */
  private async publish(batch: AlertV1[]): Promise<void> {
    await Promise.all(
      batch.map((a) =>
        // Message id per (alert, count): an update is a new message, a retry is not.
        this.js
          .publish(alertSubject(a.host, a.severity), JSON.stringify(a), { msgID: `${a.id}-${a.count}` })
          .then(() => {
            this.stats.published++;
          })
          .catch((err: Error) => this.log.warn({ err, 'alert.id': a.id }, 'alert not published')),
      ),
    );
  }

  /**
   * One last try for what is queued (the insert under way may finish, bounded), no more waits for
   * storage; what is left unstored is counted in one line (the process ends: no status tells it).
   */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise((r) => {
        timer = setTimeout(r, 5000);
      }),
    ]);
    clearTimeout(timer);
    if (this.queue.length > 0) {
      this.log.error(
        { 'alerts.unstored': this.queue.length, 'alerts.lastError': this.stats.lastError },
        'stopping with alerts not stored',
      );
      this.queue = [];
    }
  }
}
