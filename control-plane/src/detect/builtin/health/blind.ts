/** Shared by the probe-health watches: times as ISO text, and per-host state. */

export const iso = (ts: string): string => new Date(Number(BigInt(ts) / 1_000_000n)).toISOString();

export function perHost<V>(map: Map<string, Map<string, V>>, host: string): Map<string, V> {
  let m = map.get(host);
  if (!m) map.set(host, (m = new Map()));
  return m;
}
