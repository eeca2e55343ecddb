import type { EventV1 } from '@vigil/schema';
import { useState } from 'preact/hooks';
import { queryString } from '../api.js';
import { useApi } from '../hooks.js';
import { SqlBox } from '../sql-box.js';
import { ProcessTree, type TreeNode } from '../tree.js';
import { treeAround } from '../tree-around.js';
import { ErrorBox, nsAgo, Section, Time } from '../ui.js';

const KINDS = ['', 'exec', 'exit', 'connect', 'gpu', 'exe', 'dns', 'conn', 'config'] as const;
const FIELDS = ['kind', 'host', 'job', 'pid', 'exe', 'uid', 'since'] as const;
type Form = Record<(typeof FIELDS)[number], string>;

/** One line for a person: what the event says beyond its process. */
export function summary(ev: EventV1): string {
  switch (ev.kind) {
    case 'exec':
      return `${ev.exec.argv.join(' ')}${ev.exec.ret ? ` (failed: ${ev.exec.ret})` : ''}`;
    case 'exit':
      return ev.exit.signal !== null ? `signal ${ev.exit.signal}` : `code ${ev.exit.code ?? '?'}`;
    case 'connect':
      return `${ev.connect.daddr}:${ev.connect.dport}${ev.connect.hostname ? ` (${ev.connect.hostname})` : ''}`;
    case 'gpu':
      return `${ev.gpu.device} ${ev.gpu.name}`;
    case 'exe':
      return ev.exe.path;
    case 'dns':
      return `${ev.dns.direction} ${ev.dns.qname ?? ''} ${ev.dns.answers.map((a) => a.addr).join(' ')}`;
    case 'conn':
      return `${ev.conn.event} ${JSON.stringify(ev.conn.remote).replace(/[{}"]/g, '')}`;
    case 'config':
      return `${ev.config.reason} ${ev.config.path}`;
  }
}

export function Events() {
  const [form, setForm] = useState<Form>({ kind: '', host: '', job: '', pid: '', exe: '', uid: '', since: '3600' });
  const [applied, setApplied] = useState<Form>(form);
  const { since, ...rest } = applied;
  const list = useApi<{ events: EventV1[] }>(
    `/api/v1/events${queryString({ ...rest, sinceNs: since ? nsAgo(Number(since)) : undefined, limit: 500 })}`,
  );
  const [tree, setTree] = useState<{ of: EventV1; nodes: TreeNode[]; truncated: boolean } | null>(null);
  const [treeError, setTreeError] = useState<string | null>(null);
  const field = (name: keyof Form) => ({
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const showTree = async (ev: EventV1) => {
    try {
      setTree({ of: ev, ...(await treeAround(ev)) });
      setTreeError(null);
      document.getElementById('tree-around')?.scrollIntoView();
    } catch (err) {
      setTreeError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <>
      <h1>Events</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(form);
        }}
      >
        <label>
          kind
          <select {...field('kind')}>
            {KINDS.map((k) => (
              <option value={k}>{k || 'any'}</option>
            ))}
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
          pid
          <input {...field('pid')} inputMode="numeric" size={8} />
        </label>
        <label>
          exe
          <input {...field('exe')} />
        </label>
        <label>
          uid
          <input {...field('uid')} inputMode="numeric" size={6} />
        </label>
        <label>
          since
          <select {...field('since')}>
            <option value="600">10 minutes</option>
            <option value="3600">1 hour</option>
            <option value="86400">1 day</option>
            <option value="">any time</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox error={list.error} />
      <table data-testid="events">
        <thead>
          <tr>
            <th>time</th>
            <th>kind</th>
            <th>host</th>
            <th>pid</th>
            <th>uid</th>
            <th>exe</th>
            <th>what</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(list.data?.events ?? []).map((ev) => (
            <tr data-pid={ev.proc.pid}>
              <td>
                <Time ns={ev.ts} />
              </td>
              <td>{ev.kind}</td>
              <td>{ev.host}</td>
              <td>{ev.proc.pid}</td>
              <td>{ev.proc.uid}</td>
              <td class="mono">{ev.proc.exe}</td>
              <td class="mono">{summary(ev).slice(0, 200)}</td>
              <td>
                <button type="button" onClick={() => showTree(ev)} title="show the tree around this process">
                  tree
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.events.length === 0 ? <p class="muted">No events match.</p> : null}
      <div id="tree-around">
        <ErrorBox error={treeError} />
        {tree ? (
          <Section title={`Tree around pid ${tree.of.proc.pid} (${tree.of.proc.exe}) on ${tree.of.host}`}>
            <ProcessTree nodes={tree.nodes} truncated={tree.truncated} />
          </Section>
        ) : null}
      </div>
      <SqlBox />
    </>
  );
}
