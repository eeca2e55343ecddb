import type { EventV1, QueryResult } from '@vigil/schema';
import { post } from './api.js';
import type { TreeNode } from './tree.js';

/** Descendants read at most: the query API's row bound. */
const MAX_EXECS = 10_000;
/** Generations of descendants read. */
const MAX_DEPTH = 16;

const sqlString = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

const stdioText = (ev: EventV1): string[] =>
  ev.kind === 'exec'
    ? (ev.exec.stdio ?? []).map(
        (f) => `${f.fd}:${f.type}${f.remote ? ` ${JSON.stringify(f.remote).replace(/[{}"]/g, '')}` : ''}`,
      )
    : [];

/**
 * The tree around one process, from its event: its ancestors as the sensor saw them at its birth,
 * the process (marked), and every process its descendants exec'd after it started on that host.
 */
export async function treeAround(ev: EventV1): Promise<{ nodes: TreeNode[]; truncated: boolean }> {
  const p = ev.proc;
  const from = p.startTs ?? ev.ts;
  interface Row {
    pid: number;
    ppid: number;
    uid: number;
    exe: string;
    argv: string[];
    born: string;
    cwd: string;
  }
  // Level by level (children of the pids found so far), so other processes on a busy host do not
  // use up the row bound; one node per pid, the image it runs last.
  const byPid = new Map<number, Row>();
  const children = new Map<number, number[]>();
  let truncated = false;
  let level = [p.pid];
  for (let depth = 0; depth < MAX_DEPTH && level.length > 0 && byPid.size < MAX_EXECS; depth++) {
    const sql = `SELECT pid, ppid, uid, exe, argv, toString(toUnixTimestamp64Nano(ts)) AS born,
  JSONExtractString(event, 'proc', 'cwd') AS cwd
FROM events WHERE host = ${sqlString(ev.host)} AND kind = 'exec' AND ppid IN (${level.join(',')})
  AND ts >= fromUnixTimestamp64Nano(toInt64(${sqlString(from)}))
ORDER BY ts LIMIT ${MAX_EXECS - byPid.size}`;
    const res = await post<QueryResult>('/api/v1/query', { sql });
    truncated ||= res.rowsTruncated;
    const next: number[] = [];
    for (const r of res.rows as unknown as Row[]) {
      const pid = Number(r.pid);
      if (pid === p.pid || (byPid.has(pid) && Number(byPid.get(pid)?.ppid) !== Number(r.ppid))) continue;
      if (!byPid.has(pid)) {
        next.push(pid);
        const siblings = children.get(Number(r.ppid));
        if (siblings) siblings.push(pid);
        else children.set(Number(r.ppid), [pid]);
      }
      byPid.set(pid, r);
    }
    level = next;
  }
  truncated ||= level.length > 0;
  const nodes: TreeNode[] = [];
  const chain = [p.pid, ...p.ancestry.map((a) => a.pid)];
  p.ancestry.forEach((a, i) => {
    nodes.push({
      pid: a.pid,
      ppid: chain[i + 2] ?? 0,
      startTs: null,
      exe: a.exe,
      argv: a.argv,
      uid: null,
      cwd: null,
      stdio: [],
      exeHash: null,
      involved: false,
      alerts: [],
    });
  });
  nodes.push({
    pid: p.pid,
    ppid: p.ppid,
    startTs: p.startTs,
    exe: p.exe,
    argv: p.argv,
    uid: p.uid,
    cwd: p.cwd ?? null,
    stdio: stdioText(ev),
    exeHash: null,
    involved: true,
    alerts: [],
  });
  // Breadth first from the process: each pid once, so a recycled pid cannot loop.
  const seen = new Set<number>([p.pid]);
  const queue = [p.pid];
  while (queue.length) {
    const pid = queue.shift() as number;
    for (const c of children.get(pid) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      queue.push(c);
      const r = byPid.get(c) as Row;
      nodes.push({
        pid: c,
        ppid: pid,
        startTs: r.born,
        exe: r.exe,
        argv: r.argv,
        uid: Number(r.uid),
        cwd: r.cwd || null,
        stdio: [],
        exeHash: null,
        involved: false,
        alerts: [],
      });
    }
  }
  return { nodes, truncated };
}
