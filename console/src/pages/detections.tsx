import type { DetectionsReport, StatusReport } from '@vigil/schema';
import { useApi } from '../hooks.js';
import { ErrorBox, Section, Sev } from '../ui.js';

export function Detections() {
  const d = useApi<DetectionsReport>('/api/v1/detections');
  const status = useApi<StatusReport>('/api/v1/status');
  const suppressed = status.data?.controlPlane.suppressed;
  return (
    <>
      <h1>Detections</h1>
      <ErrorBox error={d.error} />
      {d.data && d.data.problems.length > 0 ? (
        <Section title="Failed to load">
          <ul data-testid="problems">
            {d.data.problems.map((p) => (
              <li>
                <code>{p.path}</code>: {p.reason}
                {p.unsupported ? ' (unsupported)' : ''}
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      <Section title="Loaded">
        <table data-testid="loaded">
          <thead>
            <tr>
              <th>rule</th>
              <th>severity</th>
              <th>origin</th>
              <th>fired</th>
              <th>errors</th>
            </tr>
          </thead>
          <tbody>
            {(d.data?.loaded ?? []).map((r) => (
              <tr data-rule={r.id}>
                <td>
                  <code>{r.id}</code> {r.title}
                </td>
                <td>
                  <Sev s={r.severity} />
                </td>
                <td>
                  {r.origin} <span class="muted">{r.source}</span>
                </td>
                <td data-testid="fired">{r.fired}</td>
                <td class={r.errors ? 'sev-high' : ''}>{r.errors}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {d.data && d.data.sql.length > 0 ? (
        <Section title="SQL detections">
          <table>
            <tbody>
              {d.data.sql.map((r) => (
                <tr>
                  <td>
                    <code>{r.id}</code> {r.title}
                  </td>
                  <td>
                    <Sev s={r.severity} />
                  </td>
                  <td>every {r.intervalMs / 1000}s</td>
                  <td class={r.lastError ? 'sev-high' : ''}>{r.lastError ?? 'ok'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      ) : null}
      {suppressed ? (
        <Section title="Suppressed">
          <p>{suppressed.total} alerts held back by suppressions.</p>
          <ul>
            {Object.entries(suppressed.byRule).map(([rule, n]) => (
              <li>
                <code>{rule}</code>: {n}
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
    </>
  );
}
