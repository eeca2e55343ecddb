const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export class DurationError extends Error {
  override name = 'DurationError';
}

/** "90s", "10m", "1h", "2d" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (!m) throw new DurationError(`"${text}" is not a duration (use e.g. 30s, 10m, 1h, 2d)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** The ns-since-epoch bound for "--since 10m". */
export function sinceToNs(text: string, nowMs = Date.now()): string {
  return (BigInt(nowMs) * 1_000_000n - BigInt(Math.round(parseDuration(text) * 1e9))).toString();
}
