import type { EgressReport, EgressRow } from '@vigil/schema';
import { nsToIso, table } from './render.js';

/** A duration in ms as people read it: 850 ms, 12.5 s, 3.2 min, 1.5 h. */
export function humanMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const destination = (r: EgressRow) => (r.family === 'ipv6' ? `[${r.addr}]:${r.port}` : `${r.addr}:${r.port}`);

/**
 * The egress report as a firewall view: one block per host and job, one line per process and
 * destination with how many connections it made, how many closed, and how long they were held.
 */
export function egressText(report: EgressReport): string {
  if (report.rows.length === 0) return 'no outbound TCP connections match';
  const groups = new Map<string, EgressRow[]>();
  for (const r of report.rows) {
    const key = `host ${r.host}${r.job ? `  job ${r.job}` : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const blocks = [...groups].map(([title, rows]) =>
    [
      title,
      table(
        ['PROCESS', 'EXE', 'DESTINATION', 'CONNS', 'CLOSED', 'LONGEST', 'TOTAL HELD', 'FIRST', 'LAST'],
        rows.map((r) => [
          `${r.comm}(${r.pid})`,
          r.exe,
          destination(r),
          String(r.connections),
          String(r.closed),
          r.longestMs === null ? '-' : humanMs(r.longestMs),
          r.totalMs === null ? '-' : humanMs(r.totalMs),
          nsToIso(r.firstTs),
          nsToIso(r.lastTs),
        ]),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    ].join('\n'),
  );
  if (report.rowsTruncated) blocks.push('(more rows than --limit: raise it, or narrow with --host, --job, --since)');
  return blocks.join('\n\n');
}
