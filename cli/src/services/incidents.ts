import { hostname, userInfo } from 'node:os';
import type {
  IncidentDetail,
  IncidentNoteRequest,
  IncidentQuery,
  IncidentTransition,
  IncidentV1,
  TreeNodeV1,
} from '@vigil/schema';
import { type ApiTarget, call } from './api-client.js';
import { nsToIso, printable, table } from './render.js';

export type IncidentAction = 'ack' | 'resolve' | 'reopen';

/** Who a person at this terminal is, for the audit: user@hostname. */
export const defaultActor = (): string => `${userInfo().username}@${hostname()}`;

const path = (id: string) => `/api/v1/incidents/${encodeURIComponent(id)}`;

export async function fetchIncidents(api: ApiTarget, q: IncidentQuery): Promise<IncidentV1[]> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  return (await call<{ incidents: IncidentV1[] }>(api, `/api/v1/incidents?${p}`)).incidents;
}

export const fetchIncident = (api: ApiTarget, id: string) => call<IncidentDetail>(api, path(id));

export async function changeIncident(
  api: ApiTarget,
  id: string,
  action: IncidentAction | 'notes',
  body: IncidentTransition | IncidentNoteRequest,
): Promise<IncidentV1> {
  const res = await call<{ incident: IncidentV1 }>(api, `${path(id)}/${action}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return res.incident;
}

export function incidentsTable(list: IncidentV1[]): string {
  return table(
    ['ID', 'LAST', 'SEVERITY', 'STATUS', 'HOST', 'JOB', 'ALERTS', 'TITLE'],
    list.map((i) => [
      i.id,
      nsToIso(i.lastTs),
      i.severity.toUpperCase(),
      i.status,
      i.host,
      i.job ?? '',
      String(i.alertCount),
      i.title,
    ]),
    100,
  );
}

/** The tree as an indented tree, parents above children; `*` marks the involved processes. */
export function treeText(tree: TreeNodeV1[]): string[] {
  const depth = new Map<number, number>();
  return tree.map((n) => {
    const d = depth.has(n.ppid) ? depth.get(n.ppid)! + 1 : 0;
    depth.set(n.pid, d);
    const extra = [
      `uid ${n.uid}`,
      n.cwd ? `cwd ${n.cwd}` : '',
      n.stdio.length ? `stdio ${n.stdio.join(', ')}` : '',
      n.exeHash ? `sha256 ${n.exeHash.slice(0, 12)}` : '',
      n.alerts.length ? `${n.alerts.length} alert(s)` : '',
    ].filter(Boolean);
    return `${n.involved ? '*' : ' '} ${'  '.repeat(d)}${d > 0 ? '└─ ' : ''}${n.pid} ${n.exe}: ${n.argv.join(' ').slice(0, 160)}  [${extra.join('; ')}]`;
  });
}

/** `vigil incidents show`: the incident, its tree, its timeline and its alerts with their reasons. */
export function incidentText(d: IncidentDetail): string {
  const i = d.incident;
  const lines = [
    `${i.id}  ${i.severity.toUpperCase()}  ${i.status}  v${i.version}`,
    `  ${i.title}`,
    `  host ${i.host}${i.job ? `  job ${i.job}` : ''}  ${nsToIso(i.firstTs)} – ${nsToIso(i.lastTs)}  ${i.alertCount} alert(s)  rules ${i.rules.join(', ')}`,
    '',
    `Process tree (* involved)${d.treeTruncated ? ' (truncated)' : ''}:`,
    ...treeText(d.tree),
    '',
    `Timeline${d.timelineTruncated ? ' (truncated)' : ''}:`,
    ...d.timeline.map(
      (e) =>
        `  ${nsToIso(e.ts)}  ${e.kind.padEnd(8)} ${e.pid ?? ''}  ${e.severity ? `${e.severity.toUpperCase()} ` : ''}${e.summary}`,
    ),
    '',
    'Alerts:',
    ...d.alerts.map(
      (a) => `  ${nsToIso(a.ts)}  ${a.severity.toUpperCase()}  ${a.ruleId}  ${a.proc?.pid ?? ''}  ${a.reason}`,
    ),
  ];
  if (i.responses.length)
    lines.push(
      '',
      'Responses:',
      ...i.responses.map(
        (r) =>
          `  ${nsToIso(r.order.issuedTs)}  ${r.order.action} ${r.order.pid} by ${r.order.requestedBy}${r.order.dryRun ? ' (dry run)' : ''}: ${r.result ? `${r.result.outcome} ${r.result.reason}` : 'no answer yet'}`,
      ),
    );
  if (i.statusHistory.length || i.notes.length)
    lines.push(
      '',
      'History:',
      ...i.statusHistory.map((h) => `  ${nsToIso(h.ts)}  ${h.from} → ${h.to} by ${h.by}${h.note ? `: ${h.note}` : ''}`),
      ...i.notes.map((n) => `  ${nsToIso(n.ts)}  note by ${n.by}: ${n.text}`),
    );
  return lines.map(printable).join('\n');
}
