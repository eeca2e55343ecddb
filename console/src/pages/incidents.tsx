import type { IncidentV1 } from '@vigil/schema';
import { queryString } from '../api.js';
import { type Column, type FilterField, FilteredTable } from '../filtered-table.js';
import { useLiveTick } from '../live.js';
import { navigate } from '../router.js';
import { Sev, Time } from '../ui.js';

const FIELDS = ['status', 'severity', 'host', 'job', 'rule', 'since'] as const;
type Field = (typeof FIELDS)[number];

const any = ['', 'any'] as const;
const FILTERS: FilterField<Field>[] = [
  {
    name: 'status',
    label: 'status',
    choices: [any, ...['open', 'acknowledged', 'resolved'].map((s) => [s, s] as const)],
  },
  {
    name: 'severity',
    label: 'severity at least',
    choices: [any, ...['low', 'medium', 'high', 'critical'].map((s) => [s, s] as const)],
  },
  { name: 'host', label: 'host' },
  { name: 'job', label: 'job' },
  { name: 'rule', label: 'rule' },
  {
    name: 'since',
    label: 'active',
    choices: [
      ['', 'any time'],
      ['3600', 'last hour'],
      ['86400', 'last day'],
      ['604800', 'last week'],
    ],
  },
];

const COLUMNS: Column<IncidentV1>[] = [
  { head: 'severity', cell: (i) => <Sev s={i.severity} /> },
  { head: 'status', cell: (i) => i.status },
  { head: 'incident', cell: (i) => i.title },
  { head: 'host', cell: (i) => i.host },
  { head: 'job', cell: (i) => i.job ?? '—' },
  { head: 'alerts', cell: (i) => i.alertCount },
  { head: 'last activity', cell: (i) => <Time ns={i.lastTs} /> },
];

const open = (i: IncidentV1) => navigate(`/incidents/${encodeURIComponent(i.id)}`);

/** The filters live in the page's query string, so a filtered list is a link. */
const fromUrl = (): Record<Field, string> => {
  const q = new URLSearchParams(location.search);
  return Object.fromEntries(FIELDS.map((f) => [f, q.get(f) ?? ''])) as Record<Field, string>;
};

export function Incidents() {
  const tick = useLiveTick();
  return (
    <>
      <h1>Incidents</h1>
      <FilteredTable
        path="/api/v1/incidents"
        fields={FILTERS}
        initial={fromUrl()}
        rows={(d) => (d as { incidents: IncidentV1[] }).incidents}
        columns={COLUMNS}
        rowProps={(i) => ({
          class: 'clickable',
          tabIndex: 0,
          'data-incident': i.id,
          onClick: () => open(i),
          onKeyDown: (e: KeyboardEvent) => {
            if (e.key === 'Enter') open(i);
          },
        })}
        empty="No incidents match."
        onApply={(form) => history.replaceState(null, '', `${location.pathname}${queryString(form)}`)}
        deps={[tick]}
      />
    </>
  );
}
