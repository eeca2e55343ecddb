/**
 * Order of two NsTimestamps. They are decimal digits: without leading zeros, the shorter is the
 * earlier and equal lengths compare as text (no BigInt per event).
 */
export function compareNs(a: string, b: string): number {
  const x = withoutLeadingZeros(a);
  const y = withoutLeadingZeros(b);
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
}
const withoutLeadingZeros = (ts: string): string => (ts.length > 1 && ts[0] === '0' ? ts.replace(/^0+(?=\d)/, '') : ts);

/** Kernel time order of two events. */
export const byTs = (a: { ts: string }, b: { ts: string }): number => compareNs(a.ts, b.ts);
