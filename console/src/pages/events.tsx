import type { EventV1 } from '@vigil/schema';
import { useState } from 'preact/hooks';
import { type Column, type FilterField, FilteredTable } from '../filtered-table.js';
import { SqlBox } from '../sql-box.js';
import { ProcessTree, type TreeNode } from '../tree.js';
import { treeAround } from '../tree-around.js';
import { ErrorBox, Section, Time } from '../ui.js';

const KINDS = ['', 'exec', 'exit', 'connect', 'gpu', 'exe', 'dns', 'conn', 'config'] as const;
type Field = 'kind' | 'host' | 'job' | 'pid' | 'exe' | 'uid' | 'since';

const FILTERS: FilterField<Field>[] = [
  { name: 'kind', label: 'kind', choices: KINDS.map((k) => [k, k || 'any'] as const) },
  { name: 'host', label: 'host' },
  { name: 'job', label: 'job' },
  { name: 'pid', label: 'pid', numeric: true, size: 8 },
  { name: 'exe', label: 'exe' },
  { name: 'uid', label: 'uid', numeric: true, size: 6 },
  {
    name: 'since',
    label: 'since',
    choices: [
      ['600', '10 minutes'],
      ['3600', '1 hour'],
      ['86400', '1 day'],
      ['', 'any time'],
    ],
  },
];

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
  const [tree, setTree] = useState<{ of: EventV1; nodes: TreeNode[]; truncated: boolean } | null>(null);
  const [treeError, setTreeError] = useState<string | null>(null);
  const showTree = async (ev: EventV1) => {
    try {
      setTree({ of: ev, ...(await treeAround(ev)) });
      setTreeError(null);
      document.getElementById('tree-around')?.scrollIntoView();
    } catch (err) {
      setTreeError(err instanceof Error ? err.message : String(err));
    }
  };
  const columns: Column<EventV1>[] = [
    { head: 'time', cell: (ev) => <Time ns={ev.ts} /> },
    { head: 'kind', cell: (ev) => ev.kind },
    { head: 'host', cell: (ev) => ev.host },
    { head: 'pid', cell: (ev) => ev.proc.pid },
    { head: 'uid', cell: (ev) => ev.proc.uid },
    { head: 'exe', cell: (ev) => ev.proc.exe, mono: true },
    { head: 'what', cell: (ev) => summary(ev).slice(0, 200), mono: true },
    {
      head: '',
      cell: (ev) => (
        <button type="button" onClick={() => showTree(ev)} title="show the tree around this process">
          tree
        </button>
      ),
    },
  ];
  return (
    <>
      <h1>Events</h1>
      <FilteredTable
        path="/api/v1/events"
        fields={FILTERS}
        initial={{ kind: '', host: '', job: '', pid: '', exe: '', uid: '', since: '3600' }}
        rows={(d) => (d as { events: EventV1[] }).events}
        columns={columns}
        rowProps={(ev) => ({ 'data-pid': ev.proc.pid })}
        empty="No events match."
        testId="events"
      />
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
