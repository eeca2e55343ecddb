/**
 * Reads back a scenario's events for its fixture: every stored event of the host in the scenario's
 * time window, from the API (a window of a busy host outgrows what a `vigil events` child's output
 * buffer holds), then those of the scenario's processes and their descendants, oldest first.
 */
import { EventV1, MAX_LIST_LIMIT } from '@vigil/schema';
import { authHeaders } from '../support/harness.js';
import type { RunRecord } from './runner.js';
import { eventsOf } from './verdict.js';

/** Around the scenario's own clock readings: events are dated by the kernel's. */
const BEFORE_NS = 1_000_000_000n;
const AFTER_NS = 2_000_000_000n;

export async function scenarioEvents(api: string, host: string, r: RunRecord): Promise<EventV1[]> {
  const q = new URLSearchParams({
    host,
    sinceNs: String(r.startNs - BEFORE_NS),
    untilNs: String(r.endNs + AFTER_NS),
    limit: String(MAX_LIST_LIMIT),
  });
  const res = await fetch(`${api}/api/v1/events?${q}`, { headers: authHeaders });
  if (!res.ok) throw new Error(`events of ${r.scenario.name}: the API answered ${res.status}: ${await res.text()}`);
  const { events } = (await res.json()) as { events: unknown[] };
  if (events.length >= MAX_LIST_LIMIT)
    throw new Error(`events of ${r.scenario.name}: the window holds more than ${MAX_LIST_LIMIT} events of the host`);
  const parsed = events.map((e, i) => {
    const p = EventV1.safeParse(e);
    if (!p.success) throw new Error(`events of ${r.scenario.name}: event ${i} is not v1: ${p.error.message}`);
    return p.data;
  });
  return eventsOf(parsed, r).sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : BigInt(a.ts) > BigInt(b.ts) ? 1 : 0));
}

/**
 * The sensor's reference hashes of the host's own tools (`exe` events with `reference`), published at
 * its start, before any scenario: the replay hands them to the engine first, as a live engine has them.
 */
export async function referenceEvents(api: string, host: string): Promise<EventV1[]> {
  const q = new URLSearchParams({ host, kind: 'exe', limit: String(MAX_LIST_LIMIT) });
  const res = await fetch(`${api}/api/v1/events?${q}`, { headers: authHeaders });
  if (!res.ok) throw new Error(`reference hashes: the API answered ${res.status}: ${await res.text()}`);
  const { events } = (await res.json()) as { events: unknown[] };
  return events
    .map((e) => EventV1.parse(e))
    .filter((e) => e.kind === 'exe' && e.exe.reference === true)
    .sort((a, b) => (BigInt(a.ts) < BigInt(b.ts) ? -1 : 1));
}
