import { readFileSync } from 'node:fs';
import type { LoadProblem, LoadReport, LoadedDetection } from '@vigil/control-plane';

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
    : text
        .split('\n')
        .map((raw, i) => ({ line: i + 1, raw }))
        .filter((x) => (x.raw as string).trim() !== '');
  const events: EventV1[] = [];
  const bad: { line: number; reason: string }[] = [];
  for (const { line, raw } of items) {
    let value: unknown = raw;
    if (typeof raw === 'string') {
      try {
        value = JSON.parse(raw);
      } catch {
        bad.push({ line, reason: 'not JSON' });
        continue;
      }
    }
    const ev = EventV1.safeParse(value);
    if (ev.success) events.push(ev.data);
    else
      bad.push({
        line,
        reason: ev.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; '),
      });
  }
  return { events, bad };
}

/** A file that did not load, as lines: its reason, then each of its errors when it has several. */
export const problemLines = (problems: LoadProblem[]): string[] =>
  problems.flatMap((p) => [
    `${p.unsupported ? 'unsupported' : 'broken     '}  ${p.path}: ${p.reason}`,
    ...(p.details && p.details.length > 1
      ? p.details.map((d) => `               ${d.replace(/\n/g, '\n               ')}`)
      : []),
  ]);

/** Loads and checks detection files: type errors of TypeScript modules, SQL the engine refuses. */
export const validateDetections = async (paths: string[]): Promise<LoadReport> =>
  (await controlPlane()).checkDetections(paths);

/** A detection that failed while tested: threw on events (counted), or its SQL failed. */
export interface DetectionFailure {
  id: string;
  source: AlertV1['source'];
  /** Events it threw on (TypeScript, Sigma, built-in), or 1 for a failed SQL run. */
  errors: number;
  /** Events it was given (its kinds), or 1 for a SQL run. */
  of: number;
  firstError: string;
}

const describeThrown = (err: unknown): string =>
  err instanceof Error ? `${err.name}: ${err.message}` : `threw ${JSON.stringify(err) ?? String(err)}`;

/** A detection whose calls and throws are counted (the engine counts throws too, and goes on). */
function counted(loaded: LoadedDetection): { loaded: LoadedDetection; failure: () => DetectionFailure | null } {
  let calls = 0;
  let errors = 0;
  let first = '';
  const d = loaded.detection;
  const match: typeof d.match = (ev, ctx) => {
    calls++;
    try {
      return d.match(ev, ctx);
    } catch (err) {
      if (errors++ === 0) first = describeThrown(err);
      throw err;
    }
  };
  return {
    loaded: { ...loaded, detection: { ...d, match } },
    failure: () => (errors > 0 ? { id: d.id, source: loaded.source, errors, of: calls, firstError: first } : null),
  };
}

/**
 * Runs detections over recorded events, offline: the alerts they would raise, and the detections
 * that failed. SQL detections run once over a scratch store that holds just these events.
 */
export async function testDetections(paths: string[], eventsFile: string, withBuiltins: boolean) {
  const { BUILTIN_DETECTIONS, DetectionEngine, loadDetections, runSqlDetectionsOver } = await controlPlane();
  const report = await loadDetections(paths);
  const { events, bad } = readEventsFile(eventsFile);
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    throttleMs: 0,
    onAlert: (a) => alerts.push(a),
  });
  const builtins: LoadedDetection[] = withBuiltins
    ? Object.values(BUILTIN_DETECTIONS).map((detection) => ({
        detection,
        source: 'builtin',
        author: null,
        origin: 'builtin',
      }))
    : [];
  const watched = [...builtins, ...report.detections].map(counted);
  engine.setDetections(watched.map((w) => w.loaded));
  engine.process(events);
  const sql = await runSqlDetectionsOver(report.sql, events, engine);
  const failures: DetectionFailure[] = [
    ...watched.flatMap((w) => w.failure() ?? []),
    ...sql.flatMap((r) =>
      r.error ? [{ id: r.id, source: 'sql' as const, errors: 1, of: 1, firstError: r.error }] : [],
    ),
  ];
  return { report, events: events.length, badLines: bad, alerts, sql, failures };
}
