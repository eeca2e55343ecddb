import type { ClickHouseClient } from '@clickhouse/client';
import type {
  AlertV1,
  EventV1,
  ExecEventV1,
  IncidentDetail,
  IncidentV1,
  ProcessV1,
  StdioFdV1,
  TimelineEntryV1,
  TreeNodeV1,
} from '@vigil/schema';
import { lineOf } from './correlate.js';
import { alertsByIds } from './store.js';

/** Lines of a timeline and processes of a tree, at most (the rest is said truncated). */
export const MAX_TIMELINE = 1000;
export const MAX_TREE = 500;
/** Exec events read to find the root's descendants, at most. */
const MAX_EXECS = 20_000;
/** Before its first alert (the processes that led to it) and after its last (what they went on to do). */
const BEFORE_NS = 10n * 60_000_000_000n;
const AFTER_NS = 10n * 60_000_000_000n;

const stdioText = (f: StdioFdV1): string =>
  `${f.fd}:${f.type}${f.remote ? ` ${f.remote.addr}:${f.remote.port}` : f.local ? ` ${f.local.addr}:${f.local.port}` : ''}`;

/** What an event did, in one line for a person. */
export function eventSummary(ev: EventV1): string {
  switch (ev.kind) {
    case 'exec':
      return `exec ${ev.exec.filename} ${ev.exec.argv.slice(1).join(' ')}${ev.exec.ret ? ` (failed ${ev.exec.ret})` : ''}`.trim();
    case 'exit':
      return ev.exit.signal !== null ? `killed by signal ${ev.exit.signal}` : `exit ${ev.exit.code}`;
    case 'connect':
      return `connect ${ev.connect.hostname ? `${ev.connect.hostname} ` : ''}${ev.connect.daddr}:${ev.connect.dport}`;
    case 'dns':
      return `dns ${ev.dns.direction} ${ev.dns.qname ?? '?'}`;
    case 'gpu':
      return `gpu ${ev.gpu.device} ${ev.gpu.name}${ev.gpu.rmClassName ? ` ${ev.gpu.rmClassName}` : ''}`;
    case 'exe':
      return `ran ${ev.exe.path} sha256:${ev.exe.sha256.slice(0, 16)}`;
    case 'conn':
      return `${ev.conn.event} ${ev.conn.remote ? `${ev.conn.remote.addr}:${ev.conn.remote.port}` : ''}`.trim();
    case 'config':
      return `${ev.config.reason} ${ev.config.path}`;
  }
}

/** The parent a process was born under (its ppid changes when it is re-parented). */
const birthParent = (p: ProcessV1): number => p.ancestry[0]?.pid ?? p.ppid;

function nodeOf(p: ProcessV1, exec: ExecEventV1['exec'] | null): TreeNodeV1 {
  return {
    pid: p.pid,
    ppid: birthParent(p),
    startTs: p.startTs,
    exe: exec?.filename ?? p.exe,
    argv: exec?.argv ?? p.argv,
    uid: p.uid,
    cwd: p.cwd ?? null,
    stdio: (exec?.stdio ?? []).map(stdioText),
    exeHash: p.exeHash ?? null,
    involved: false,
    alerts: [],
  };
}

async function readEvents(ch: ClickHouseClient, where: string, params: Record<string, unknown>, limit: number) {
  const rs = await ch.query({
    query: `SELECT event FROM events WHERE ${where} ORDER BY ts, id LIMIT 1 BY id LIMIT {limit:UInt32}`,
    query_params: { ...params, limit },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ event: string }>()).map((r) => JSON.parse(r.event) as EventV1);
}

/**
 * The tree from the incident's root down: its descendants are the processes whose ancestry at birth
 * holds the root (from the exec events around the incident), with the alerted processes and those
 * between them and the root marked involved; parents before children, siblings by start.
 */
function buildTree(
  inc: IncidentV1,
  alerts: AlertV1[],
  execs: ExecEventV1[],
): { tree: TreeNodeV1[]; truncated: boolean } {
  const root = inc.root;
  if (!root) return { tree: [], truncated: false };
  const nodes = new Map<number, TreeNodeV1>();
  for (const ev of execs) {
    if (ev.exec.ret !== null && ev.exec.ret !== 0) continue;
    if (ev.proc.pid === root.pid || ev.proc.ancestry.some((a) => a.pid === root.pid))
      nodes.set(ev.proc.pid, nodeOf(ev.proc, ev.exec));
  }
  for (const a of alerts) {
    if (!a.proc) continue;
    const line = [a.proc.pid, ...a.proc.ancestry.map((x) => x.pid)];
    const upTo = line.indexOf(root.pid);
    if (upTo < 0) continue;
    if (!nodes.has(a.proc.pid)) nodes.set(a.proc.pid, nodeOf(a.proc, null));
    // Ancestors seen only in the alert's ancestry (they exec'd before the events read).
    a.proc.ancestry.slice(0, upTo).forEach((x, i) => {
      if (!nodes.has(x.pid))
        nodes.set(x.pid, {
          ...nodeOf({ ...a.proc!, pid: x.pid, exe: x.exe, argv: x.argv, startTs: null, cwd: undefined }, null),
          ppid: a.proc!.ancestry[i + 1]?.pid ?? 0,
          exeHash: null,
        });
    });
    for (const pid of line.slice(0, upTo + 1)) nodes.get(pid)!.involved = true;
    nodes.get(a.proc.pid)!.alerts.push(a.id);
  }
  const rootNode = nodes.get(root.pid);
  if (!rootNode) return { tree: [], truncated: false };
  rootNode.involved = true;
  const context = contextAbove(root.pid, execs, alerts);
  if (context.length) rootNode.ppid = context[context.length - 1]!.pid;
  const children = new Map<number, TreeNodeV1[]>();
  for (const n of nodes.values()) if (n !== rootNode) children.set(n.ppid, [...(children.get(n.ppid) ?? []), n]);
  const tree: TreeNodeV1[] = [];
  const order = (x: TreeNodeV1, y: TreeNodeV1) => Number(BigInt(x.startTs ?? '0') - BigInt(y.startTs ?? '0'));
  const visit = (n: TreeNodeV1) => {
    if (tree.length >= MAX_TREE) return;
    tree.push(n);
    for (const c of (children.get(n.pid) ?? []).sort(order)) visit(c);
  };
  tree.push(...context);
  visit(rootNode);
  return { tree, truncated: tree.length - context.length < nodes.size };
}

/** How many of the root's ancestors the tree shows above it, as context (not involved). */
const CONTEXT_DEPTH = 3;

/**
 * The root's own ancestors below the session root (the job's interpreter above the shell it spawned),
 * outermost first: the story starts where the processes did, not at the first alerted one.
 */
function contextAbove(rootPid: number, execs: ExecEventV1[], alerts: AlertV1[]): TreeNodeV1[] {
  const rootProc =
    execs.find((e) => e.proc.pid === rootPid)?.proc ??
    alerts.map((a) => a.proc).find((p) => p?.pid === rootPid) ??
    (() => {
      for (const a of alerts) {
        const at = a.proc?.ancestry.findIndex((x) => x.pid === rootPid) ?? -1;
        if (at >= 0) return { ...a.proc!, pid: rootPid, ancestry: a.proc!.ancestry.slice(at + 1) };
      }
      return undefined;
    })();
  if (!rootProc) return [];
  const line = lineOf(rootProc, CONTEXT_DEPTH).slice(1);
  return line
    .map((x, i) => {
      const anc = rootProc.ancestry[i]!;
      return {
        ...nodeOf(
          { ...rootProc, pid: x.pid, exe: x.exe, comm: x.comm, argv: anc.argv, startTs: null, cwd: undefined },
          null,
        ),
        ppid: rootProc.ancestry[i + 1]?.pid ?? 0,
        exeHash: null,
      };
    })
    .reverse();
}

/** `GET /api/v1/incidents/:id`: the incident, its alerts, its timeline and its tree. */
export async function incidentDetail(ch: ClickHouseClient, inc: IncidentV1): Promise<IncidentDetail> {
  const alerts = await alertsByIds(
    ch,
    inc.alerts.map((a) => a.id),
  );
  alerts.sort((x, y) => (BigInt(x.ts) < BigInt(y.ts) ? -1 : 1));
  const from = BigInt(inc.firstTs) - BEFORE_NS;
  const range = {
    host: inc.host,
    from: (from > 0n ? from : 0n).toString(),
    to: (BigInt(inc.lastTs) + AFTER_NS).toString(),
  };
  const inRange =
    'host = {host:String} AND ts >= fromUnixTimestamp64Nano({from:Int64}) AND ts < fromUnixTimestamp64Nano({to:Int64})';
  const execs = (await readEvents(ch, `${inRange} AND kind = 'exec'`, range, MAX_EXECS)) as ExecEventV1[];
  const { tree, truncated: treeTruncated } = buildTree(inc, alerts, execs);
  const pids = tree.length > 0 ? tree.map((n) => n.pid) : inc.processes.map((p) => p.pid);
  const events = await readEvents(
    ch,
    `${inRange} AND pid IN {pids:Array(UInt32)}`,
    { ...range, pids },
    MAX_TIMELINE + 1,
  );
  const timeline: TimelineEntryV1[] = [
    ...events.map((ev) => ({ ts: ev.ts, kind: ev.kind, pid: ev.proc.pid, summary: eventSummary(ev), ref: ev.id })),
    ...alerts.map((a) => ({
      ts: a.ts,
      kind: 'alert' as const,
      pid: a.proc?.pid ?? null,
      summary: `${a.ruleId}: ${a.title}`,
      ref: a.id,
      severity: a.severity,
    })),
    ...inc.responses.map((r) => ({
      ts: r.result?.ts ?? r.order.issuedTs,
      kind: 'response' as const,
      pid: r.order.pid,
      summary: `${r.order.action} pid ${r.order.pid} by ${r.order.requestedBy}: ${r.result ? `${r.result.outcome}${r.result.reason ? ` (${r.result.reason})` : ''}` : 'sent'}`,
      ref: r.order.id,
    })),
  ].sort((x, y) => (BigInt(x.ts) < BigInt(y.ts) ? -1 : BigInt(x.ts) > BigInt(y.ts) ? 1 : 0));
  const timelineTruncated = events.length > MAX_TIMELINE || timeline.length > MAX_TIMELINE;
  return {
    incident: inc,
    alerts,
    timeline: timeline.slice(0, MAX_TIMELINE),
    timelineTruncated,
    tree,
    treeTruncated,
  };
}
