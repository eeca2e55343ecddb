import { z } from 'zod/v4';

/**
 * One line of `bpftrace -f json`. Only the shapes the sensor acts on are spelled out; anything else
 * (printf text, a newer bpftrace's extra types) is kept as `other` and counted, never thrown.
 */
/** A printed map: {"key": value, …}, or a number for a map without keys. */
const PrintedMap = z.custom<Record<string, unknown> | number>(
  (v) => typeof v === 'number' || (typeof v === 'object' && v !== null && !Array.isArray(v)),
  'a printed map ({"key": value} or a number)',
);
/** The shapes the sensor acts on, told apart by `type` (one branch checked, not each in turn). */
const KnownLine = z.discriminatedUnion('type', [
  z.object({ type: z.literal('value'), data: z.array(z.unknown()) }),
  // A map keyed by tuples prints {"@name": {"k1,k2": value}}; a scalar one {"@name": value}. The
  // entries are the decoders' business (they validate every value); here only the outer shape.
  z.object({ type: z.literal('map'), data: z.record(z.string(), PrintedMap) }),
  // 0.17 prints {"events": n}; later releases keep the same key.
  z.object({ type: z.literal('lost_events'), data: z.object({ events: z.number() }) }),
  z.object({ type: z.literal('attached_probes'), data: z.object({ probes: z.number() }) }),
]);
const KNOWN_TYPES: ReadonlySet<unknown> = new Set(KnownLine.options.map((o) => o.shape.type.value));
const OtherLine = z.object({ type: z.string(), data: z.unknown() });
/** A known type must have its shape; any other type is kept as it is. */
export const BpftraceLine = z.union([KnownLine, OtherLine]);
export type BpftraceLine = z.infer<typeof BpftraceLine>;

export class BpftraceLineError extends Error {
  override name = 'BpftraceLineError';
  constructor(
    readonly reason: 'json' | 'shape',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/*
 * bpftrace 0.17 writes a byte >= 0x80 inside a string as "\uffffffXX" (a sign-extended char printed
 * as a \u escape), which JSON.parse would read as U+FFFF followed by the text "ffXX": the byte would be
 * silently lost and the text forged. Before parsing, such an escape (one whose backslash is not itself
 * escaped) becomes a lone surrogate U+DCXX, a code point real output cannot contain; restoreBytes then
 * turns runs of them back into UTF-8 text, or "\xNN" for bytes that are not valid UTF-8.
 */
const BROKEN_BYTE_ESCAPE = /(?<!\\)((?:\\\\)*)\\uffffff([0-9a-fA-F]{2})/g;
const SURROGATE_RUN = /[\udc80-\udcff]+/g;
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8SequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function decodeByteRun(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const len = utf8SequenceLength(bytes[i]!);
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += fatalUtf8.decode(Uint8Array.from(bytes.slice(i, i + len)));
        i += len;
        continue;
      } catch {
        // not a valid sequence: fall through and escape the lead byte alone
      }
    }
    out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
    i += 1;
  }
  return out;
}

/** Turns the surrogate placeholders of one decoded string back into text (see above). */
export function restoreBytes(s: string): string {
  if (!/[\udc80-\udcff]/.test(s)) return s;
  return s.replace(SURROGATE_RUN, (run) => decodeByteRun(Array.from(run, (c) => c.charCodeAt(0) - 0xdc00)));
}

const restoreValue = (v: unknown): unknown =>
  typeof v === 'string' ? restoreBytes(v) : Array.isArray(v) ? v.map(restoreValue) : v;

export function parseBpftraceLine(line: string): BpftraceLine {
  const repaired = line.includes('\\uffffff') ? line.replace(BROKEN_BYTE_ESCAPE, '$1\\udc$2') : line;
  let raw: unknown;
  try {
    raw = JSON.parse(repaired);
  } catch (cause) {
    throw new BpftraceLineError('json', `bpftrace line is not JSON: ${line.slice(0, 120)}`, { cause });
  }
  const known = typeof raw === 'object' && raw !== null && KNOWN_TYPES.has((raw as { type?: unknown }).type);
  const parsed = known ? KnownLine.safeParse(raw) : OtherLine.safeParse(raw);
  if (!parsed.success) {
    throw new BpftraceLineError('shape', `bpftrace line has an unknown shape: ${line.slice(0, 120)}`, {
      cause: parsed.error,
    });
  }
  const out = parsed.data;
  if (out.type === 'value' && Array.isArray(out.data)) {
    out.data = out.data.map(restoreValue);
  } else if (out.type === 'map' && repaired !== line) {
    for (const m of Object.values(out.data as Record<string, unknown>)) {
      if (m && typeof m === 'object')
        for (const [k, v] of Object.entries(m)) (m as Record<string, unknown>)[k] = restoreValue(v);
    }
  }
  return out;
}

/**
 * Splits a printed map's key ("4242,2,443,…") into numbers; null when a part is not a decimal integer
 * (empty, signed twice, hex, exponent) or not exactly representable. One pass: it runs for every map
 * entry the exec and proc probes flush.
 */
export function parseNumericMapKey(key: string, arity: number): number[] | null {
  const nums: number[] = [];
  let n = 0;
  let digits = 0;
  let neg = false;
  for (let i = 0; i <= key.length; i++) {
    const c = i < key.length ? key.charCodeAt(i) : 44;
    if (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      digits++;
    } else if (c === 44) {
      if (digits === 0) return null;
      const v = neg ? -n : n;
      if (!Number.isSafeInteger(v)) return null;
      nums.push(v);
      n = 0;
      digits = 0;
      neg = false;
    } else if (c === 45 && digits === 0 && !neg) neg = true;
    else if (c === 32 && digits === 0 && !neg) continue;
    else return null;
  }
  return nums.length === arity ? nums : null;
}
