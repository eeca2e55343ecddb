import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

/** The first wait after a failure; each failure in a row doubles it, up to RETRY_CAP_MS. */
export const RETRY_FIRST_MS = 500;
export const RETRY_CAP_MS = 10_000;
/** While something stays down, one line says so at most this often (with the attempts so far). */
export const STILL_DOWN_EVERY_MS = 60_000;

/** The wait before the next try after `failures` failures in a row. */
export const backoffMs = (failures: number, firstMs = RETRY_FIRST_MS, capMs = RETRY_CAP_MS): number =>
  Math.min(capMs, firstMs * 2 ** Math.min(30, Math.max(0, failures - 1)));

/** Waits `ms`, or less when `signal` aborts; false when it was cut short. */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
    return true;
  } catch {
    return false;
  }
}

export interface OutageMessages {
  /** The first failure. */
  down: string;
  /** Still failing (no more often than STILL_DOWN_EVERY_MS). */
  still: string;
  /** The first success after failures. */
  up: string;
}

/**
 * What a retry loop says about something it keeps trying: a line when it goes down, one every so
 * often while it stays down (with the attempts), and one when it comes back — never one per try.
 */
export class OutageLog {
  /** Failures in a row; 0 while it works. */
  failures = 0;
  private since = 0;
  private lastSaid = 0;

  constructor(
    private readonly log: Logger,
    private readonly messages: OutageMessages,
    private readonly fields: Record<string, unknown> = {},
    private readonly stillEveryMs = STILL_DOWN_EVERY_MS,
  ) {}

  failed(err: unknown, now = Date.now()): void {
    this.failures++;
    if (this.failures === 1) {
      this.since = now;
      this.lastSaid = now;
      this.log.error({ ...this.fields, err }, this.messages.down);
    } else if (now - this.lastSaid >= this.stillEveryMs) {
      this.lastSaid = now;
      this.log.warn(
        {
          ...this.fields,
          'retry.attempts': this.failures,
          'retry.downMs': now - this.since,
          'retry.lastError': (err as Error)?.message ?? String(err),
        },
        this.messages.still,
      );
    }
  }

  succeeded(now = Date.now()): void {
    if (this.failures === 0) return;
    this.log.info(
      { ...this.fields, 'retry.attempts': this.failures, 'retry.downMs': now - this.since },
      this.messages.up,
    );
    this.failures = 0;
  }
}
