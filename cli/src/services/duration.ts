import { DURATION_UNIT_MS, type DurationUnit } from '@vigil/schema';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** "90s", "10m", "1h", "2d" → seconds. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new DurationError(`"${text}" is not a duration (use e.g. 30s, 10m, 1h, 2d)`);
  return (Number(m[1]) * DURATION_UNIT_MS[m[2] as DurationUnit]) / 1000;
}

/** The ns-since-epoch bound for "--since 10m". */
export function sinceToNs(text: string, nowMs = Date.now()): string {
  return (BigInt(nowMs) * 1_000_000n - BigInt(Math.round(parseDuration(text) * 1e9))).toString();
}

/**
 * A time bound, "--until 10m" or "--since 2024-05-01T12:00:00Z": a duration back from now, or a
 * date-time with its zone (ISO 8601) → ns since the epoch.
 */
export function timeToNs(text: string, nowMs = Date.now()): string {
  if (DURATION.test(text.trim())) return sinceToNs(text, nowMs);
  const ms = /^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms))
    throw new DurationError(
      `"${text}" is neither a duration (30s, 10m, 1h, 2d) nor a date-time with its zone (2024-05-01T12:00:00Z)`,
    );
  return (BigInt(ms) * 1_000_000n).toString();
}
