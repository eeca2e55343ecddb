import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import type { Severity, SyslogOutput } from '@vigil/schema';
import { OutputDeliveryError } from './http-post.js';
import { rulesOf, storyOf, type OutputMessage, type Sender } from './message.js';

const FACILITY = {
  kern: 0,
  user: 1,
  daemon: 3,
  auth: 4,
  syslog: 5,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const satisfies Record<SyslogOutput['facility'], number>;

/** Vigil's severities as syslog's (RFC 5424 §6.2.1): critical is crit, high err, medium warning. */
const SYSLOG_SEVERITY = { critical: 2, high: 3, medium: 4, low: 5, info: 6 } as const satisfies Record<
  Severity,
  number
>;

/** Vigil's private enterprise number for its structured data (RFC 5424 §7.2.2). */
export const SD_ID = 'vigil@32473';

/** A structured-data value: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3). */
export const sdEscape = (v: string): string => v.replace(/["\\\]]/g, (c) => `\\${c}`);

/** Control characters become spaces: a newline in a process name does not start a forged line in a log file. */
const oneLine = (v: string): string => v.replace(/[\u0000-\u001f\u007f]/g, ' ');

/** Receivers accept 8 KiB (rsyslog's default); longer messages lose the end of their MSG. */
const MAX_BYTES = 8192;

/**
 * One RFC 5424 message: HOSTNAME is the host the alert or incident is about, MSGID its kind, and the
 * structured data carries its id, severity, rules and host; MSG is the one-line story.
 */
export function formatSyslog(
  m: OutputMessage,
  cfg: Pick<SyslogOutput, 'facility' | 'appName'>,
  now = new Date(),
): string {
  const pri = FACILITY[cfg.facility] * 8 + SYSLOG_SEVERITY[m.data.severity];
  const params: [string, string][] = [
    ['id', m.data.id],
    ['severity', m.data.severity],
    ['rule', rulesOf(m).join(',')],
    ['host', m.data.host],
    ...(m.kind === 'incident' ? ([['version', String(m.data.version)]] as [string, string][]) : []),
  ];
  const sd = `[${SD_ID} ${params.map(([k, v]) => `${k}="${sdEscape(oneLine(v))}"`).join(' ')}]`;
  const head = `<${pri}>1 ${now.toISOString()} ${m.data.host} ${cfg.appName} - ${m.kind} ${sd} `;
  const msg = Buffer.from(oneLine(storyOf(m)));
  const room = Math.max(0, MAX_BYTES - Buffer.byteLength(head));
  // Cut on bytes; a character split by the cut is dropped (it decodes as U+FFFD).
  return (
    head +
    (msg.length > room
      ? msg
          .subarray(0, room)
          .toString('utf8')
          .replace(/\uFFFD+$/, '')
      : msg.toString())
  );
}

/**
 * Node has no unix datagram sockets: one such as /dev/log refuses a stream connection with
 * EPROTOTYPE, and the error says what to configure instead.
 */
const explain = (err: Error | null): Error | null =>
  (err as NodeJS.ErrnoException | null)?.code === 'EPROTOTYPE'
    ? new Error(
        'a datagram socket: the unix transport takes a stream socket (rsyslog imptcp path=…, syslog-ng unix-stream()); for a local daemon listening on /dev/log only, use its udp input',
        { cause: err },
      )
    : err;

/** host:port, with [::1]:514 for IPv6. */
export function parseAddress(address: string): { host: string; port: number } {
  const m = address.match(/^\[?([^\]]+?)\]?:(\d{1,5})$/);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new OutputDeliveryError(`syslog address ${address}: not host:port`);
  return { host: m[1]!, port };
}

/**
 * Sends RFC 5424 messages over UDP, TCP (octet-counting framing, RFC 6587 §3.4.1) or a unix stream
 * socket. A broken connection is dropped and made again at the next message (the failed one is
 * retried by the delivery loop). UDP cannot tell a lost datagram: a send that left is counted sent.
 */
export class SyslogSender implements Sender {
  private stream: Socket | null = null;
  private udp: UdpSocket | null = null;

  constructor(private readonly cfg: SyslogOutput) {
    if (cfg.transport !== 'unix') parseAddress(cfg.address);
  }

  async send(m: OutputMessage): Promise<void> {
    const line = formatSyslog(m, this.cfg);
    try {
      if (this.cfg.transport === 'udp') await this.sendUdp(line);
      else await this.sendStream(this.cfg.transport === 'tcp' ? `${Buffer.byteLength(line)} ${line}` : `${line}\n`);
    } catch (err) {
      if (err instanceof OutputDeliveryError) throw err;
      throw new OutputDeliveryError(`syslog ${this.cfg.transport} ${this.cfg.address}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private async sendUdp(line: string): Promise<void> {
    const { host, port } = parseAddress(this.cfg.address);
    this.udp ??= createSocket(host.includes(':') ? 'udp6' : 'udp4').on('error', () => {
      this.udp = null;
    });
    const sock = this.udp;
    await new Promise<void>((resolve, reject) => sock.send(line, port, host, (err) => (err ? reject(err) : resolve())));
  }

  private async connected(): Promise<Socket> {
    if (this.stream && !this.stream.destroyed) return this.stream;
    const s =
      this.cfg.transport === 'unix'
        ? connect({ path: this.cfg.address })
        : connect({ ...parseAddress(this.cfg.address), timeout: 10_000 });
    let failure: Error | null = null;
    // A socket that errs closes: the error is kept for the message, the close ends the wait.
    s.on('error', (err) => {
      failure = err;
    });
    s.on('timeout', () => s.destroy(new Error('connect timed out')));
    s.on('close', () => {
      if (this.stream === s) this.stream = null;
    });
    // A receiver that talks back is not one: what it says is read and dropped.
    s.on('data', () => {});
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('close', () => reject(explain(failure) ?? new Error('closed before it opened')));
    });
    s.setTimeout(0);
    this.stream = s;
    return s;
  }

  private async sendStream(frame: string): Promise<void> {
    const s = await this.connected();
    await new Promise<void>((resolve, reject) => s.write(frame, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    this.stream?.end();
    this.stream = null;
    this.udp?.close();
    this.udp = null;
  }
}
