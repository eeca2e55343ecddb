/**
 * Which claimed times the tables store as they are. A row's time decides its partition and its TTL,
 * so the tables take the time an event or alert claims only within what they keep (migrations 0010,
 * 0011; alerts from 179 days ago): from `keptDays` ago to a day ahead. Any other claim is stored at
 * the time of the insert (the row's JSON keeps what it claimed). The same bounds as the SQL, for
 * counting such events; the storage tests check the two agree.
 */
export const EVENTS_KEPT_DAYS = 29;
const AHEAD_DAYS = 1;
const DAY_MS = 86_400_000;

/** Whether a row claiming `tsNs` (nanoseconds since the epoch, decimal text) keeps that time in storage. */
export function storedAtClaimedTime(tsNs: string, keptDays: number, nowMs = Date.now()): boolean {
  // A double keeps well under a millisecond here; a claim past Int64 (unreadable to ClickHouse) is
  // past the year 2262, outside either way.
  const ms = Number(tsNs) / 1e6;
  return ms >= nowMs - keptDays * DAY_MS && ms <= nowMs + AHEAD_DAYS * DAY_MS;
}
