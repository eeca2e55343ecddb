import type { AlertV1, IncidentV1, StatusReport } from '@vigil/schema';
import { useMemo } from 'preact/hooks';
import { CountChart } from '../chart.js';
import { useApi } from '../hooks.js';
import { useLiveTick } from '../live.js';
import { linkProps } from '../router.js';
import { ErrorBox, nsAgo, Section, Sev } from '../ui.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
const HOURS = 6;
const BUCKET_S = 600;

/** Alerts (each counts its folded repeats) per ten minutes over the last hours. */
function buckets(alerts: AlertV1[]): { xs: number[]; ys: number[] } {
  const end = Math.ceil(Date.now() / 1000 / BUCKET_S) * BUCKET_S;
  const n = (HOURS * 3600) / BUCKET_S;
  const xs = Array.from({ length: n }, (_, i) => end - (n - i) * BUCKET_S);
  const ys = xs.map(() => 0);
  for (const a of alerts) {
    const i = Math.floor((Number(BigInt(a.ts) / 1_000_000_000n) - (end - n * BUCKET_S)) / BUCKET_S);
    if (i >= 0 && i < n) ys[i] = (ys[i] ?? 0) + a.count;
  }
  return { xs, ys };
}

export function Overview() {
  const tick = useLiveTick();
  const status = useApi<StatusReport>('/api/v1/status', [tick]);
  const since = useMemo(() => nsAgo(HOURS * 3600), [tick]);
  const alerts = useApi<{ alerts: AlertV1[] }>(`/api/v1/alerts?sinceNs=${since}&limit=10000`, [tick]);
  const incidents = useApi<{ incidents: IncidentV1[] }>('/api/v1/incidents?status=open&limit=10000', [tick]);
  const sensors = status.data?.sensors ?? [];
  const silent = sensors.filter((s) => s.silent || s.stopped);
  const chart = useMemo(() => buckets(alerts.data?.alerts ?? []), [alerts.data]);
  const loudest = useMemo(() => {
    const by = new Map<string, { n: number; severity: string; title: string }>();
    for (const a of alerts.data?.alerts ?? []) {
      const r = by.get(a.ruleId) ?? { n: 0, severity: a.severity, title: a.title };
      r.n += a.count;
      by.set(a.ruleId, r);
    }
    return [...by].sort((x, y) => y[1].n - x[1].n).slice(0, 10);
  }, [alerts.data]);
  return (
    <>
      <h1>Overview</h1>
      <ErrorBox error={status.error} />
      <div class="cards">
        <a class="card" {...linkProps('/hosts')} data-testid="hosts-up">
          <b>{sensors.length - silent.length}</b>hosts up
        </a>
        <a class="card" {...linkProps('/hosts')} data-testid="hosts-silent">
          <b class={silent.length ? 'sev-critical' : ''}>{silent.length}</b>silent or stopped
        </a>
        {SEVERITIES.map((s) => (
          <a class="card" {...linkProps(`/incidents?status=open&severity=${s}`)} data-testid={`open-${s}`}>
            <b class={`sev-${s}`}>{(incidents.data?.incidents ?? []).filter((i) => i.severity === s).length}</b>
            open {s}
          </a>
        ))}
      </div>
      {incidents.error ? <p class="muted">Incidents: {incidents.error}</p> : null}
      <Section title={`Alerts, last ${HOURS} hours`}>
        <ErrorBox error={alerts.error} />
        <CountChart xs={chart.xs} ys={chart.ys} label="alerts" />
      </Section>
      <Section title="Loudest rules">
        <table>
          <thead>
            <tr>
              <th>rule</th>
              <th>severity</th>
              <th>alerts</th>
            </tr>
          </thead>
          <tbody>
            {loudest.map(([rule, r]) => (
              <tr>
                <td>
                  <code>{rule}</code> <span class="muted">{r.title}</span>
                </td>
                <td>
                  <Sev s={r.severity} />
                </td>
                <td>{r.n}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {loudest.length === 0 && !alerts.loading ? <p class="muted">No alerts in the last {HOURS} hours.</p> : null}
      </Section>
    </>
  );
}
