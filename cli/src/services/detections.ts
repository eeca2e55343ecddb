import { readFileSync } from 'node:fs';
import type { LoadReport, LoadedDetection } from '@vigil/control-plane';

/**
 * The control plane is imported when used: oclif (without a manifest) imports every command module at
 * start, and the control plane brings chDB's library (~170 MiB resident) into whatever loads it, such as
 * a `vigil sensor` on a training host.
 */
const controlPlane = () => import('@vigil/control-plane');
import { EventV1, type AlertV1 } from '@vigil/schema';


export class EventsFileError extends Error {
  override name = 'EventsFileError';
}

/** Reads recorded v1 events, one JSON object per line (what `vigil events --json` gives, as NDJSON). */
export function readEventsFile(path: string): { events: EventV1[]; bad: { line: number; reason: string }[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new EventsFileError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const trimmed = text.trim();
  // A JSON array (vigil events --json) is accepted as well as NDJSON.
  const items: { line: number; raw: string | unknown }[] = trimmed.startsWith('[')
    ? (JSON.parse(trimmed) as unknown[]).map((raw, i) => ({ line: i + 1, raw }))
    : text.split('\n').map((raw, i) => ({ line: i + 1, raw })).filter((x) => (x.raw as string).trim() !== '');
  const events: EventV1[] = [];
  const bad: { line: number; reason: string }[] = [];
  for (const { line, raw } of items) {
    let value: unknown = raw;
    if (typeof raw === 'string') {
      try { value = JSON.parse(raw); } catch { bad.push({ line, reason: 'not JSON' }); continue; }
    }
    const ev = EventV1.safeParse(value);
    if (ev.success) events.push(ev.data);
    else bad.push({ line, reason: ev.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  }
  return { events, bad };
}

export const validateDetections = async (paths: string[]): Promise<LoadReport> => (await controlPlane()).loadDetections(paths);

/** Runs detections over recorded events, offline: the alerts they would raise. */
export async function testDetections(paths: string[], eventsFile: string, withBuiltins: boolean) {
  const { BUILTIN_DETECTIONS, DetectionEngine, loadDetections } = await controlPlane();
  const report = await loadDetections(paths);
  const { events, bad } = readEventsFile(eventsFile);
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() }, throttleMs: 0, onAlert: (a) => alerts.push(a) });
  const builtins: LoadedDetection[] = withBuiltins ? Object.values(BUILTIN_DETECTIONS).map((detection) => ({ detection, source: 'builtin', author: null, origin: 'builtin' })) : [];
  engine.setDetections([...builtins, ...report.detections]);
  engine.process(events);
  return { report, events: events.length, badLines: bad, alerts };
}
