/**
 * What a corpus run showed: which alerts (and events) belong to which scenario, whether each scenario
 * met its expectation, and the per-class table.
 */
import type { AlertV1, EventV1, ProcessV1 } from '@vigil/schema';
import type { RunRecord } from './runner.js';

/** Event clocks and this process's clock are read at different moments: this much slack each side. */
const SLACK_NS = 1_000_000_000n;

const inWindow = (ts: string, r: RunRecord) => {
  const t = BigInt(ts);
  return t >= r.startNs - SLACK_NS && t <= r.endNs + SLACK_NS;
};

/** A process the scenario started, or a descendant of one, within the scenario's time. */
export const ofScenario = (proc: ProcessV1 | null, ts: string, r: RunRecord): boolean =>
  !!proc && inWindow(ts, r) && (r.roots.includes(proc.pid) || proc.ancestry.some((a) => r.roots.includes(a.pid)));

export const eventsOf = (events: EventV1[], r: RunRecord) => events.filter((e) => ofScenario(e.proc, e.ts, r));

/**
 * Alerts about the scenario's processes; for a scenario that stops or kills the sensor's probes, also
 * the alerts about no process (a stalled or restarted probe) raised from its start until the probes
 * ran again. A health alert is dated from the start of the blind interval, the probe's last flush,
 * which may come up to a flush interval before the scenario's first step.
 */
export const alertsOf = (alerts: AlertV1[], r: RunRecord, disturbedUntilNs?: bigint) =>
  alerts.filter(
    (a) =>
      ofScenario(a.proc, a.ts, r) ||
      (a.proc === null &&
        disturbedUntilNs !== undefined &&
        BigInt(a.ts) >= r.startNs - SLACK_NS &&
        BigInt(a.ts) <= disturbedUntilNs + SLACK_NS),
  );

export interface Verdict {
  name: string;
  class: string;
  kind: 'attack' | 'benign';
  /** attack: raised an expected rule; benign: nothing at high or critical. */
  ok: boolean;
  ran: boolean;
  /** The scenario's alerts, as `rule (severity)`. */
  seen: string[];
}

export const HIGH = new Set(['high', 'critical']);

export function verdictOf(
  s: { name: string; class: string; kind: 'attack' | 'benign'; expect?: string[] | undefined },
  alerts: AlertV1[],
  ran = true,
): Verdict {
  const ok =
    s.kind === 'attack' ? alerts.some((a) => s.expect!.includes(a.ruleId)) : !alerts.some((a) => HIGH.has(a.severity));
  const seen = [...new Set(alerts.map((a) => `${a.ruleId} (${a.severity})`))];
  return { name: s.name, class: s.class, kind: s.kind, ok: ran && ok, ran, seen };
}

/** One line per class: scenarios, and for attacks how many were detected, for benign how many stayed quiet. */
export function classTable(verdicts: Verdict[]): string {
  const rows = new Map<string, { kind: string; n: number; ok: number; notRun: number }>();
  for (const v of verdicts) {
    const key = `${v.kind} ${v.class}`;
    const row = rows.get(key) ?? { kind: v.kind, n: 0, ok: 0, notRun: 0 };
    row.n++;
    if (v.ok) row.ok++;
    if (!v.ran) row.notRun++;
    rows.set(key, row);
  }
  const lines = ['kind    class                 scenarios  detected/quiet  not run'];
  for (const [key, r] of [...rows].sort()) {
    const cls = key.split(' ')[1]!;
    lines.push(
      `${r.kind.padEnd(8)}${cls.padEnd(22)}${String(r.n).padStart(9)}  ${`${r.ok}/${r.n - r.notRun}`.padStart(14)}  ${String(r.notRun).padStart(7)}`,
    );
  }
  const attacks = verdicts.filter((v) => v.kind === 'attack' && v.ran);
  const benign = verdicts.filter((v) => v.kind === 'benign' && v.ran);
  lines.push(
    `total: ${attacks.filter((v) => v.ok).length}/${attacks.length} attacks detected with an expected rule; ${benign.filter((v) => v.ok).length}/${benign.length} benign quiet at high/critical`,
  );
  return lines.join('\n');
}
