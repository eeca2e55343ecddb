import type { IncidentDetail, IncidentV1, ResponseAction, TimelineEntryV1, TreeNodeV1 } from '@vigil/schema';
import { useState } from 'preact/hooks';
import { ApiError, post } from '../api.js';
import { useApi } from '../hooks.js';
import { useLiveTick } from '../live.js';
import { linkProps } from '../router.js';
import { ProcessTree } from '../tree.js';
import { ErrorBox, Section, Sev, Time } from '../ui.js';

const BY_KEY = 'vigil.actor';

function Timeline({ entries, truncated }: { entries: TimelineEntryV1[]; truncated: boolean }) {
  return (
    <>
      <table data-testid="timeline">
        <thead>
          <tr>
            <th>time</th>
            <th>kind</th>
            <th>pid</th>
            <th>what</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr>
              <td>
                <Time ns={e.ts} />
              </td>
              <td>{e.severity ? <Sev s={e.severity} /> : e.kind}</td>
              <td>{e.pid ?? '—'}</td>
              <td class="mono">{e.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {truncated ? <p class="muted">The timeline was cut at the control plane's bound.</p> : null}
    </>
  );
}

/** Acknowledge, resolve, reopen, note; and a kill behind a confirmation. */
function Actions({ incident, tree, done }: { incident: IncidentV1; tree: TreeNodeV1[]; done: () => void }) {
  const [by, setBy] = useState(sessionStorage.getItem(BY_KEY) ?? 'console');
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const targets = tree.filter((n) => n.involved);
  const [target, setTarget] = useState<string>('');
  const [action, setAction] = useState<ResponseAction>('kill');
  const [confirming, setConfirming] = useState(false);
  const base = `/api/v1/incidents/${encodeURIComponent(incident.id)}`;
  const act = async (what: () => Promise<unknown>, message: string) => {
    sessionStorage.setItem(BY_KEY, by);
    try {
      await what();
      setError(null);
      setSaid(message);
      done();
    } catch (err) {
      setSaid(null);
      setError(
        err instanceof ApiError && err.status === 404 && message.startsWith('kill')
          ? `responses are not available on this control plane (${err.message})`
          : err instanceof Error
            ? err.message
            : String(err),
      );
    }
  };
  const chosen = targets.find((n) => String(n.pid) === target) ?? targets[targets.length - 1];
  return (
    <section class="actions">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (note.trim())
            void act(() => post(`${base}/notes`, { by, text: note.trim() }), 'note added').then(() => setNote(''));
        }}
      >
        <label>
          as
          <input name="by" value={by} onInput={(e) => setBy(e.currentTarget.value)} />
        </label>
        {incident.status === 'open' ? (
          <button type="button" onClick={() => act(() => post(`${base}/ack`, { by }), 'acknowledged')}>
            Acknowledge
          </button>
        ) : null}
        {incident.status !== 'resolved' ? (
          <button type="button" onClick={() => act(() => post(`${base}/resolve`, { by }), 'resolved')}>
            Resolve
          </button>
        ) : (
          <button type="button" onClick={() => act(() => post(`${base}/reopen`, { by }), 'reopened')}>
            Reopen
          </button>
        )}
        <label>
          note
          <input name="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} size={40} />
        </label>
        <button type="submit">Add note</button>
      </form>
      {chosen ? (
        <div class="filters">
          <label>
            process
            <select name="target" value={String(chosen.pid)} onChange={(e) => setTarget(e.currentTarget.value)}>
              {targets.map((n) => (
                <option value={String(n.pid)}>
                  {n.pid} {n.exe}
                </option>
              ))}
            </select>
          </label>
          <label>
            action
            <select name="action" value={action} onChange={(e) => setAction(e.currentTarget.value as ResponseAction)}>
              <option value="kill">kill the process</option>
              <option value="kill-tree">kill it and its descendants</option>
            </select>
          </label>
          {confirming ? (
            <>
              <span role="alert">
                {action} pid {chosen.pid} ({chosen.exe}) on {incident.host}?
              </span>
              <button
                type="button"
                class="danger"
                onClick={() => {
                  setConfirming(false);
                  void act(
                    () =>
                      post('/api/v1/respond', {
                        host: incident.host,
                        pid: chosen.pid,
                        ...(chosen.startTs ? { startTs: chosen.startTs } : {}),
                        action,
                        by,
                        reason: `from the console, incident ${incident.id}`,
                        incidentId: incident.id,
                      }),
                    `kill ordered for pid ${chosen.pid}`,
                  );
                }}
              >
                Confirm {action}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" class="danger" onClick={() => setConfirming(true)}>
              Kill…
            </button>
          )}
        </div>
      ) : null}
      <ErrorBox error={error} />
      {said ? <p role="status">{said}</p> : null}
    </section>
  );
}

export function IncidentPage({ id }: { id: string }) {
  const tick = useLiveTick();
  const detail = useApi<IncidentDetail>(`/api/v1/incidents/${encodeURIComponent(id)}`, [tick]);
  if (detail.error)
    return (
      <>
        <h1>Incident {id}</h1>
        <p class="error" role="alert">
          {detail.status === 404 ? `No incident with id ${JSON.stringify(id)} (${detail.error}).` : detail.error}
        </p>
        <a {...linkProps('/incidents')}>All incidents</a>
      </>
    );
  const d = detail.data;
  if (!d) return <p class="muted">Loading incident {id}…</p>;
  const i = d.incident;
  const net = d.timeline.filter((e) => e.kind === 'connect' || e.kind === 'conn' || e.kind === 'dns');
  const gpu = d.timeline.filter((e) => e.kind === 'gpu');
  return (
    <>
      <h1>
        <Sev s={i.severity} /> {i.title}
      </h1>
      <p>
        <span data-testid="status">{i.status}</span> · host <code>{i.host}</code> · job {i.job ?? '—'} · {i.alertCount}{' '}
        alerts · <Time ns={i.firstTs} /> – <Time ns={i.lastTs} /> · MITRE {i.mitre.join(', ') || '—'}
      </p>
      <Actions incident={i} tree={d.tree} done={detail.reload} />
      <Section title="Process tree">
        <ProcessTree nodes={d.tree} truncated={d.treeTruncated} />
      </Section>
      <div class="grid2">
        <Section title="Alerts">
          <table>
            <tbody>
              {d.alerts.map((a) => (
                <tr>
                  <td>
                    <Sev s={a.severity} />
                  </td>
                  <td>
                    <code>{a.ruleId}</code> {a.title}
                    <br />
                    <span class="muted">{a.reason}</span>
                  </td>
                  <td>{a.mitre.join(', ')}</td>
                  <td>
                    <Time ns={a.ts} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="Status changes and notes">
          <ul>
            {[
              ...i.statusHistory.map((s) => ({
                ts: s.ts,
                text: `${s.by}: ${s.from} → ${s.to}${s.note ? ` (${s.note})` : ''}`,
              })),
              ...i.notes.map((n) => ({ ts: n.ts, text: `${n.by}: ${n.text}` })),
              ...i.responses.map((r) => ({
                ts: r.order.issuedTs,
                text: `${r.order.requestedBy}: ${r.order.action} pid ${r.order.pid}${r.order.dryRun ? ' (dry run)' : ''} → ${r.result ? `${r.result.outcome}: ${r.result.reason}` : 'no answer yet'}`,
              })),
            ]
              .sort((x, y) => (BigInt(x.ts) < BigInt(y.ts) ? -1 : 1))
              .map((x) => (
                <li>
                  <Time ns={x.ts} /> {x.text}
                </li>
              ))}
          </ul>
        </Section>
      </div>
      <div class="grid2">
        <Section title="Connections and DNS">
          <Timeline entries={net} truncated={false} />
        </Section>
        <Section title="GPUs touched">
          <Timeline entries={gpu} truncated={false} />
        </Section>
      </div>
      <Section title="Timeline">
        <Timeline entries={d.timeline} truncated={d.timelineTruncated} />
      </Section>
    </>
  );
}
