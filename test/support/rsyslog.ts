/**
 * Debian's rsyslog as a test's syslog receiver, on loopback: UDP (imudp), TCP with octet-counting
 * framing (imtcp) and a unix stream socket (imptcp), with its own configuration and working folder.
 * It parses each message as RFC 5424 and writes what it parsed, field by field, to a file that
 * `lines()` reads back. `stop()` and `start()` again restart it on the same ports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from './harness.js';

const SEP = ' ||| ';
const FIELDS = [
  'inputname',
  'protocol-version',
  'pri',
  'hostname',
  'app-name',
  'msgid',
  'structured-data',
  'msg',
] as const;
export type SyslogLine = Partial<Record<(typeof FIELDS)[number], string>>;

export interface Rsyslog {
  udpPort: number;
  tcpPort: number;
  /** The unix stream socket's path. */
  sock: string;
  /** What it received so far, each message's fields as rsyslog parsed them. */
  lines(): SyslogLine[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRsyslog(dir: string): Promise<Rsyslog> {
  const out = join(dir, 'rsyslog-received.log');
  const sock = join(dir, 'rsyslog.sock');
  const conf = join(dir, 'rsyslog.conf');
  const udpPort = await freePort();
  const tcpPort = await freePort();
  writeFileSync(
    conf,
    `global(workDirectory="${dir}")
module(load="imudp")
module(load="imtcp")
module(load="imptcp")
template(name="fields" type="string" string="${FIELDS.map((f) => `%${f}%`).join(SEP)}\\n")
ruleset(name="vigil") { action(type="omfile" file="${out}" template="fields") }
input(type="imudp" address="127.0.0.1" port="${udpPort}" name="udp" ruleset="vigil")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" name="tcp" ruleset="vigil")
input(type="imptcp" path="${sock}" unlink="on" name="unix" ruleset="vigil")
`,
  );
  let child: ChildProcess | null = null;
  const lines = (): SyslogLine[] =>
    existsSync(out)
      ? readFileSync(out, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => Object.fromEntries(l.split(SEP).map((v, i) => [FIELDS[i]!, v])) as SyslogLine)
      : [];
  const r: Rsyslog = {
    udpPort,
    tcpPort,
    sock,
    lines,
    // Ready once a datagram sent to it is written (UDP tells no sender whether anyone listens).
    async start() {
      child = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslog.pid')], { stdio: 'ignore' });
      const probe = createSocket('udp4');
      const token = `probe-${Date.now()}`;
      try {
        await waitFor('rsyslog listening', () => {
          probe.send(`<14>1 - ${token} - - - - ready`, udpPort, '127.0.0.1');
          return lines().some((l) => l.hostname === token) && existsSync(sock);
        });
      } finally {
        probe.close();
      }
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
  await r.start();
  return r;
}
