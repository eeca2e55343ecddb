import type { HostsReport } from '@vigil/schema';

/** `vigil hosts` as a table: one line per host. */
export function hostsText(r: HostsReport): string {
  if (!r.hosts.length) return 'no enrolled hosts (vigil hosts token create, then vigil sensor --enroll URL --token T)';
  const rows = r.hosts.map((h) => [
    h.host,
    h.state,
    h.version ?? '-',
    h.lastHeartbeatTs ? `${h.lastHeartbeatTs}${h.silent ? ' (silent)' : ''}` : 'never',
    Object.entries(h.probes)
      .map(([p, s]) => (s === 'running' ? p : `${p}:${s}`))
      .join(',') || '-',
    h.credentialExpiresTs ?? '-',
  ]);
  const head = ['HOST', 'STATE', 'VERSION', 'LAST HEARTBEAT', 'PROBES', 'CREDENTIAL EXPIRES'];
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const rejects = Object.entries(r.rejects).map(([k, n]) => `${k}: ${n}`);
  return [
    line(head),
    ...rows.map(line),
    ...(rejects.length ? [`refused enrollments: ${rejects.join(', ')}`] : []),
  ].join('\n');
}
