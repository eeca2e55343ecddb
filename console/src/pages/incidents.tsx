import type { IncidentV1 } from '@vigil/schema';
import { useState } from 'preact/hooks';
import { queryString } from '../api.js';
import { useApi } from '../hooks.js';
import { useLiveTick } from '../live.js';
import { navigate } from '../router.js';
import { ErrorBox, nsAgo, Sev, Time } from '../ui.js';

const SINCE = { '': 'any time', '3600': 'last hour', '86400': 'last day', '604800': 'last week' } as const;
const FIELDS = ['status', 'severity', 'host', 'job', 'rule', 'since'] as const;
type Form = Record<(typeof FIELDS)[number], string>;

/** The filters live in the page's query string, so a filtered list is a link. */
const fromUrl = (): Form => {
  const q = new URLSearchParams(location.search);
  return Object.fromEntries(FIELDS.map((f) => [f, q.get(f) ?? ''])) as Form;
};

export function Incidents() {
  const tick = useLiveTick();
  const [form, setForm] = useState<Form>(fromUrl);
  const [applied, setApplied] = useState<Form>(form);
  const { since, ...rest } = applied;
  const path = `/api/v1/incidents${queryString({ ...rest, sinceNs: since ? nsAgo(Number(since)) : undefined, limit: 500 })}`;
  const list = useApi<{ incidents: IncidentV1[] }>(path, [tick]);
  const field = (name: keyof Form) => ({
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  return (
    <>
      <h1>Incidents</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          history.replaceState(null, '', `${location.pathname}${queryString(form)}`);
          setApplied(form);
        }}
      >
        <label>
          status
          <select {...field('status')}>
            <option value="">any</option>
            <option>open</option>
            <option>acknowledged</option>
            <option>resolved</option>
          </select>
        </label>
        <label>
          severity at least
          <select {...field('severity')}>
            <option value="">any</option>
            <option>low</option>
            <option>medium</option>
            <option>high</option>
            <option>critical</option>
          </select>
        </label>
        <label>
          host
          <input {...field('host')} />
        </label>
        <label>
          job
          <input {...field('job')} />
        </label>
        <label>
          rule
          <input {...field('rule')} />
        </label>
        <label>
          active
          <select {...field('since')}>
            {Object.entries(SINCE).map(([v, l]) => (
              <option value={v}>{l}</option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={list.error} />
      <table>
        <thead>
          <tr>
            <th>severity</th>
            <th>status</th>
            <th>incident</th>
            <th>host</th>
            <th>job</th>
            <th>alerts</th>
            <th>last activity</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.incidents ?? []).map((i) => (
            <tr
              class="clickable"
              tabIndex={0}
              data-incident={i.id}
              onClick={() => navigate(`/incidents/${encodeURIComponent(i.id)}`)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') navigate(`/incidents/${encodeURIComponent(i.id)}`);
              }}
            >
              <td>
                <Sev s={i.severity} />
              </td>
              <td>{i.status}</td>
              <td>{i.title}</td>
              <td>{i.host}</td>
              <td>{i.job ?? '—'}</td>
              <td>{i.alertCount}</td>
              <td>
                <Time ns={i.lastTs} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.incidents.length === 0 ? <p class="muted">No incidents match.</p> : null}
    </>
  );
}
