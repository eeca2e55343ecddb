/**
 * The queues between EventIngestor's stages (reader -> detect -> store): each keeps the events and
 * bytes it holds, which bound fetching and size inserts, and wakes its consumer when items arrive.
 */

/**
 * Message bytes per insert at most, whatever the events' count: 10,000 events of 250 KB each would be
 * one insert of 2.5 GB, a string longer than V8 makes (the insert would fail, and be retried, for ever).
 */
export const MAX_INSERT_BYTES = 64 * 1024 * 1024;

/** What an item of a queue counts for. */
export interface Size {
  events: number;
  bytes: number;
}

/** Whether the ingestor runs, and a promise that resolves when it stops (ends every wait at once). */
export interface RunState {
  running(): boolean;
  stopping(): Promise<void>;
}

/** Waits for `wait`, or less should the ingestor stop meanwhile. */
export const pause = (run: RunState, wait: Promise<void>): Promise<void> => Promise.race([wait, run.stopping()]);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One waiter woken by the next fire(), or after `ms`. */
export class Wake {
  private resolve: (() => void) | null = null;

  wait(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.resolve = null;
        r();
      }, ms);
      t.unref();
      this.resolve = () => {
        clearTimeout(t);
        this.resolve = null;
        r();
      };
    });
  }

  fire(): void {
    this.resolve?.();
  }
}

/** A FIFO of one stage's output, counted in events and bytes, that wakes the next stage on arrival. */
export class CountedQueue<T> {
  private readonly items: T[] = [];
  private readonly arrival = new Wake();
  /** Events the queue holds. */
  events = 0;
  /** Bytes the queue holds. */
  bytes = 0;

  constructor(private readonly size: (item: T) => Size) {}

  get length(): number {
    return this.items.length;
  }

  /** The oldest item, if any. */
  first(): T | undefined {
    return this.items[0];
  }

  /** What the queue holds, oldest first. */
  all(): readonly T[] {
    return this.items;
  }

  /** Adds an item and wakes the stage that takes from this queue. */
  push(item: T): void {
    const s = this.size(item);
    this.items.push(item);
    this.events += s.events;
    this.bytes += s.bytes;
    this.arrival.fire();
  }

  /**
   * Takes the leading items that make up about `events` events and at most about MAX_INSERT_BYTES,
   * at least one.
   */
  take(events: number): T[] {
    let n = 0;
    let bytes = 0;
    let i = 0;
    while (i < this.items.length) {
      const s = this.size(this.items[i]!);
      if (i > 0 && (n >= events || bytes + s.bytes > MAX_INSERT_BYTES)) break;
      n += s.events;
      bytes += s.bytes;
      i++;
    }
    this.events -= n;
    this.bytes -= bytes;
    return this.items.splice(0, i);
  }

  /** Takes everything. */
  takeAll(): T[] {
    this.events = 0;
    this.bytes = 0;
    return this.items.splice(0);
  }

  /** Resolves on the next arrival (or wake()), or after `ms`. */
  whenArrived(ms: number): Promise<void> {
    return this.arrival.wait(ms);
  }

  /** Wakes the stage that waits on this queue (its producer ended). */
  wake(): void {
    this.arrival.fire();
  }
}
