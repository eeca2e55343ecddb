import type { HostsReport } from '@vigil/schema';
import { table } from './render.js';

const probesText = (probes: Record<string, string>) =>
  Object.entries(probes)
    .map(([p, s]) => (s === 'running' ? p : `${p}:${s}`))
    .join(',') || '-';
const heartbeatText = (h: { lastHeartbeatTs: string | null; silent: boolean | null }) =>
  h.lastHeartbeatTs ? `${h.lastHeartbeatTs}${h.silent ? ' (silent)' : ''}` : 'never';

/** `vigil hosts` as a table: one line per host, enrolled or only heard from (its credential not enrollment's). */
export function hostsText(r: HostsReport): string {
  const notEnrolled = r.notEnrolled ?? [];
  if (!r.hosts.length && !notEnrolled.length)
    return 'no hosts (vigil hosts token create, then vigil sensor --enroll URL --token T; or vigil deploy)';
  const rows = [
    ...r.hosts.map((h) => [
      h.host,
      h.state,
      h.version ?? '-',
      heartbeatText(h),
      probesText(h.probes),
      h.credentialExpiresTs ?? '-',
    ]),
    ...notEnrolled.map((h) => [h.host, 'not-enrolled', h.version ?? '-', heartbeatText(h), probesText(h.probes), '-']),
  ];
  // table() escapes what the hosts sent (versions, probe names): a heartbeat is the host's word.
  const head = ['HOST', 'STATE', 'VERSION', 'LAST HEARTBEAT', 'PROBES', 'CREDENTIAL EXPIRES'];
  const rejects = Object.entries(r.rejects).map(([k, n]) => `${k}: ${n}`);
  return [table(head, rows, 80), ...(rejects.length ? [`refused enrollments: ${rejects.join(', ')}`] : [])].join('\n');
}
