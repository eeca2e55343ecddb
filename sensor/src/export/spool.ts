import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { EventV1 } from '@vigil/schema';
import { encodeEvent } from './encode.js';

export interface SpoolOptions {
  dir: string;
  /** Beyond this many bytes on disk new events are dropped (and counted), never the spooled ones. */
  maxBytes: number;
  /** Events per segment file. */
  segmentEvents?: number;
}

export class SpoolError extends Error {
  override name = 'SpoolError';
}

const SEGMENT = /^spool-(\d{16})\.ndjson$/;

/**
 * The sensor's disk buffer for NATS outages: an ordered list of NDJSON segment files. Events are
 * appended to the newest segment; the publisher takes the oldest whole segment and deletes it only
 * once every event in it was published, so a sensor restart replays what was not.
 */
export class DiskSpool {
  /** `sealed`: never appended to again (a segment of an earlier run may end in a torn line). */
  private segments: { path: string; bytes: number; events: number; sealed: boolean }[] = [];
  private seq = 0;
  private readonly perSegment: number;
  /** Lines that were not valid events when read back (a torn write at a crash, disk damage). */
  corrupt = 0;

  constructor(private readonly opts: SpoolOptions) {
    this.perSegment = opts.segmentEvents ?? 5000;
    try {
      mkdirSync(opts.dir, { recursive: true });
    } catch (cause) {
      throw new SpoolError(`cannot create the spool directory ${opts.dir}: ${(cause as Error).message}`, { cause });
    }
    for (const name of readdirSync(opts.dir).sort()) {
      const m = SEGMENT.exec(name);
      if (!m) continue;
      const path = join(opts.dir, name);
      const bytes = statSync(path).size;
      const events = bytes === 0 ? 0 : readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
      this.segments.push({ path, bytes, events, sealed: true });
      this.seq = Math.max(this.seq, Number(m[1]) + 1);
    }
  }

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  get events(): number {
    return this.segments.reduce((n, s) => n + s.events, 0);
  }

  get empty(): boolean {
    return this.events === 0;
  }

  /** Appends in order; returns how many fitted under maxBytes (the rest are the caller's to count). */
  append(events: EventV1[]): number {
    let written = 0;
    let bytes = this.bytes;
    for (const ev of events) {
      const line = `${encodeEvent(ev)}\n`;
      const size = Buffer.byteLength(line);
      if (bytes + size > this.opts.maxBytes) break;
      let seg = this.segments.at(-1);
      if (!seg || seg.sealed || seg.events >= this.perSegment || seg === this.reading) {
        seg = {
          path: join(this.opts.dir, `spool-${String(this.seq++).padStart(16, '0')}.ndjson`),
          bytes: 0,
          events: 0,
          sealed: false,
        };
        this.segments.push(seg);
      }
      appendFileSync(seg.path, line);
      seg.bytes += size;
      seg.events++;
      bytes += size;
      written++;
    }
    return written;
  }

  private reading: { path: string } | null = null;

  /** The oldest segment's events, and how to delete it once they are all published. */
  takeOldest(): { events: EventV1[]; done: () => void } | null {
    const seg = this.segments[0];
    if (!seg) return null;
    this.reading = seg;
    const events: EventV1[] = [];
    for (const line of readFileSync(seg.path, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const ev = EventV1.safeParse(JSON.parse(line));
        if (ev.success) events.push(ev.data);
        else this.corrupt++;
      } catch {
        this.corrupt++;
      }
    }
    return {
      events,
      done: () => {
        try {
          unlinkSync(seg.path);
        } catch {
          /* already gone */
        }
        this.segments = this.segments.filter((s) => s !== seg);
        if (this.reading === seg) this.reading = null;
      },
    };
  }
}
