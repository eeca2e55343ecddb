/**
 * One pass over a message's bytes before JSON.parse: how deep its arrays and objects nest, and where
 * the elements of one array of its top-level object lie. A message nested some 100,000 deep parses,
 * but whatever walks the parsed value recursively (JSON.stringify, to dead-letter it) overflows the
 * stack; and a bad element of a batch is dead-lettered as the bytes it was sent as, not re-serialized.
 *
 * Brackets inside strings do not count (an argv of "[[[[" is data). For bytes that are not JSON the
 * answer is only a bound: JSON.parse refuses them afterwards.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;
const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

export interface JsonScan {
  /** Nesting past the bound; the scan stopped there. */
  tooDeep: boolean;
  /**
   * The byte ranges [start, end) of the elements of the array under `elementsOf` in the top-level
   * object (its last occurrence, as JSON.parse keeps the last), or null when there is none.
   */
  elements: [number, number][] | null;
}

/** Scans `bytes` (see the module's comment); `elementsOf` names the top-level key whose array elements to locate. */
export function scanJson(bytes: Uint8Array, maxDepth: number, elementsOf?: string): JsonScan {
  const buf = bytes;
  const key = elementsOf === undefined ? null : Buffer.from(JSON.stringify(elementsOf));
  let depth = 0;
  // The last string closed directly in the top-level object, and what has come since (a colon, once).
  let lastKey: [number, number] | null = null;
  let colonSinceKey = false;
  // Inside the wanted array: its elements so far, where the current one started and last non-space byte.
  let current: [number, number][] | null = null;
  let start = -1;
  let end = -1;
  let elements: [number, number][] | null = null;
  const touch = (from: number, to: number) => {
    if (current === null) return;
    if (depth === 2 && start < 0) start = from;
    end = to;
  };
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === QUOTE) {
      const close = closingQuote(buf, i);
      if (close < 0) break;
      if (depth === 1 && current === null) {
        lastKey = [i, close + 1];
        colonSinceKey = false;
      }
      touch(i, close + 1);
      i = close;
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (
        depth === 1 &&
        b === OPEN_ARRAY &&
        key !== null &&
        colonSinceKey &&
        lastKey !== null &&
        Buffer.from(buf.buffer, buf.byteOffset + lastKey[0], lastKey[1] - lastKey[0]).equals(key)
      ) {
        current = [];
        start = -1;
      } else {
        touch(i, i + 1);
      }
      lastKey = null;
      if (++depth > maxDepth) return { tooDeep: true, elements: null };
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      if (current !== null && depth === 2) {
        if (start >= 0) current.push([start, end]);
        elements = current;
        current = null;
      }
      depth--;
      if (depth >= 2) touch(i, i + 1);
      lastKey = null;
    } else if (b === COMMA) {
      if (current !== null && depth === 2) {
        if (start >= 0) current.push([start, end]);
        start = -1;
      }
      lastKey = null;
    } else if (b === COLON) {
      colonSinceKey = lastKey !== null && !colonSinceKey;
    } else if (!isSpace(b)) {
      // A number, true, false or null.
      touch(i, i + 1);
      lastKey = null;
    }
  }
  return { tooDeep: false, elements };
}

/**
 * The index of the quote that closes the string opening at `open`, or -1. A loop over the bytes: most
 * strings of an event are a few bytes long, where a native search costs more per call than it saves.
 */
function closingQuote(buf: Uint8Array, open: number): number {
  for (let j = open + 1; j < buf.length; j++) {
    const b = buf[j];
    if (b === QUOTE) return j;
    if (b === BACKSLASH) j++;
  }
  return -1;
}
