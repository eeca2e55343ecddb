import { readFileSync } from 'node:fs';
import type { EventV1 } from '@vigil/schema';
import { imageOf } from '../define.js';
import { basename } from '../argv.js';

/**
 * Sigma field → what it reads from a Vigil event. process_creation rules see exec events,
 * network_connection rules see connect events. Fields Vigil cannot fill make a rule unsupported (with
 * the reason) rather than silently never matching.
 */
type Getter = (ev: EventV1) => string | number | null;

const execArgv = (ev: EventV1) => (ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv);
const image = imageOf;

let users: Map<number, string> | null = null;
/** uid → name from this host's /etc/passwd (best effort: a remote host's names may differ). */
function userName(uid: number): string {
  if (!users) {
    users = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id) users.set(Number(id), name);
      }
    } catch {
      /* no passwd: uids only */
    }
  }
  return users.get(uid) ?? String(uid);
}

const COMMON: Record<string, Getter> = {
  Image: image,
  CommandLine: (ev) => execArgv(ev).join(' '),
  User: (ev) => userName(ev.proc.uid),
  ProcessId: (ev) => ev.proc.pid,
  CurrentDirectory: (ev) => ev.proc.cwd ?? null,
};

export const SIGMA_FIELDS: Record<'process_creation' | 'network_connection', Record<string, Getter>> = {
  process_creation: {
    ...COMMON,
    ParentImage: (ev) => ev.proc.ancestry[0]?.exe ?? null,
    ParentCommandLine: (ev) => ev.proc.ancestry[0]?.argv.join(' ') ?? null,
    ParentProcessId: (ev) => ev.proc.ppid,
    OriginalFileName: (ev) => basename(image(ev)),
  },
  network_connection: {
    ...COMMON,
    DestinationIp: (ev) => (ev.kind === 'connect' ? ev.connect.daddr : null),
    DestinationPort: (ev) => (ev.kind === 'connect' ? ev.connect.dport : null),
    // The name the process resolved the address from, when the dns probe saw the answer (null: unknown,
    // so a rule on it does not match).
    DestinationHostname: (ev) => (ev.kind === 'connect' ? (ev.connect.hostname ?? null) : null),
    // The sensor traces connect(): every connection it sees is initiated by the process.
    Initiated: () => 'true',
  },
};

/** Why a field cannot be evaluated, for the per-rule report. */
export const UNSUPPORTED_FIELDS: Record<string, string> = {
  SourceIp: 'the source address is not captured (connect() is traced before binding)',
  SourcePort: 'the source port is not captured (connect() is traced before binding)',
  LogonId: 'Linux has no logon id; the sensor carries uid and cgroup instead',
  Protocol: 'the socket type (tcp/udp) is not captured',
};
