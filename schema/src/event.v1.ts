import { z } from 'zod/v4';
import { HostId, NsTimestamp } from './common.js';
import { ProcessV1, Sha256Hex } from './process.v1.js';

export const EVENT_KINDS = ['exec', 'exit', 'connect', 'gpu', 'exe', 'dns', 'conn', 'config'] as const;
export const EventKind = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof EventKind>;

const Window = {
  /** Calls folded into this event: 1 for a first-seen record, the repeat count for a window record. */
  count: z.number().int().positive(),
  firstTs: NsTimestamp,
  lastTs: NsTimestamp,
};

const Endpoint = z.object({ addr: z.string(), port: z.number().int().min(0).max(65535) });

export const STDIO_TYPES = [
  'none',
  'tty',
  'pipe',
  'fifo',
  'file',
  'dir',
  'char',
  'block',
  'unix',
  'tcp',
  'udp',
  'socket',
  'other',
] as const;

/**
 * What one of fds 0, 1, 2 of a program was when it started: read from the task's fd table by the
 * exec probe. `tty` is a terminal (pts, tty, console); `pipe` an anonymous pipe and `fifo` a named
 * one; `tcp`/`udp` an inet socket with its endpoints; `socket` any other family (netlink, vsock, …).
 */
export const StdioFdV1 = z.object({
  fd: z.number().int().min(0).max(2),
  type: z.enum(STDIO_TYPES),
  /** The inode number: both ends of one pipe share it, so a pipe's writer and reader can be paired. */
  ino: z.number().int().nonnegative().nullable(),
  family: z.enum(['ipv4', 'ipv6']).optional(),
  /** For tcp/udp: this end (the program's) and the peer; the peer is 0.0.0.0:0 when not connected. */
  local: Endpoint.optional(),
  remote: Endpoint.optional(),
});
export type StdioFdV1 = z.infer<typeof StdioFdV1>;

export const ExecDataV1 = z.object({
  filename: z.string(),
  argv: z.array(z.string()),
  argvTruncated: z.boolean(),
  /** execve's return: 0 on success, a negative errno; null when the return was not seen. */
  ret: z.number().int().nullable(),
  /** fds 0, 1 and 2 of the new program (absent ones are `none`), for a successful exec the probe read. */
  stdio: z.array(StdioFdV1).max(3).optional(),
  /**
   * Not seen by the probe: a process found in /proc after a blind interval of the exec probe, started
   * inside it. Its argv, exe and cwd are what /proc shows when read (the program may have changed
   * them); ts is its start time (10 ms ticks), not the exec's.
   */
  recovered: z.literal(true).optional(),
});

export const ExitDataV1 = z.object({
  code: z.number().int().nullable(),
  signal: z.number().int().nullable(),
});

export const ConnectDataV1 = z.object({
  family: z.enum(['ipv4', 'ipv6']),
  daddr: z.string(),
  dport: z.number().int().min(0).max(65535),
  /** connect()'s return for a first-seen record (0, or -115 EINPROGRESS = attempted); null for repeats. */
  ret: z.number().int().nullable(),
  ...Window,
  /** The name a DNS answer this host's processes read gave for daddr, while its TTL lasted. */
  hostname: z.string().max(1100).optional(),
});

export const GPU_DRIVERS = ['nvidia', 'nvidia-uvm', 'amdkfd', 'drm', 'unknown'] as const;

export const GpuDataV1 = z.object({
  device: z.string(),
  driver: z.enum(GPU_DRIVERS),
  major: z.number().int().nonnegative(),
  minor: z.number().int().nonnegative(),
  /** The ioctl request as issued. */
  request: z.number().int().nonnegative(),
  /** Driver command number: _IOC nr, or the raw UVM command; the wrapped one when xfer is true. */
  nr: z.number().int().nonnegative(),
  name: z.string(),
  /** Carried inside NVIDIA's IOCTL_XFER_CMD. */
  xfer: z.boolean(),
  rmClass: z.number().int().nonnegative().nullable(),
  rmClassName: z.string().nullable(),
  rmControl: z.number().int().nonnegative().nullable(),
  ...Window,
});

/**
 * An executable the sensor hashed: once per path first run on the host, or run again after its file
 * changed (device, inode, mtime or size). `proc` is the process that ran it.
 */
export const ExeDataV1 = z.object({
  path: z.string(),
  sha256: Sha256Hex,
  size: z.number().int().nonnegative(),
  recentlyWritten: z.boolean(),
  inWritableDir: z.boolean(),
  /**
   * Hashed by the sensor from the host's own copy of a well-known tool (ssh, socat, nc, …) without
   * anything running it, so a renamed copy is known by its content; `proc` is then the sensor's.
   */
  reference: z.boolean().optional(),
});

export const CONN_EVENTS = ['listen', 'established', 'close'] as const;

/**
 * A TCP socket's life from sock:inet_sock_set_state: a socket entering LISTEN, a connection
 * established (`out` by connect, `in` accepted from a listener), and its close with how long it was
 * established. Aggregated in the kernel like connect: the first sighting of (process, event, peer) at
 * once, repeats folded per window into `count`. The process is the one that listened, connected or
 * accepted; a close the kernel does in softirq keeps the process that owned the socket.
 */
export const ConnDataV1 = z.object({
  event: z.enum(CONN_EVENTS),
  /** out: this host connected; in: accepted from its listener; null for listen. */
  direction: z.enum(['out', 'in']).nullable(),
  family: z.enum(['ipv4', 'ipv6']),
  local: Endpoint,
  /** The peer; 0.0.0.0:0 (or :::0) for a listener. */
  remote: Endpoint,
  /** For close: how long the connection was established, in ms (the longest of the folded ones); else null. */
  durationMs: z.number().nonnegative().nullable(),
  /** For close: the sum of the folded connections' durations (ms); else null. */
  totalDurationMs: z.number().nonnegative().nullable(),
  ...Window,
});

export const CONFIG_REASONS = ['argument', 'ssh-config', 'beside-exe', 'cwd'] as const;

/**
 * A configuration file a process was started with, read by the sensor within bounds after the exec
 * (the file named by an argument such as `-F`/`-c`/`--config`, the user's ssh config for ssh, a
 * config file beside a program started without arguments). Only the lines that can change what a
 * network tool does are kept (forwards, proxies, servers, pools, tunnels, tokens redacted), never
 * the whole file. `error` says why a file was not read (not a regular file, not readable by the
 * process's user, over the size bound).
 */
export const ConfigDataV1 = z.object({
  path: z.string().max(4096),
  reason: z.enum(CONFIG_REASONS),
  size: z.number().int().nonnegative().nullable(),
  sha256: Sha256Hex.nullable(),
  /** Lines of interest, trimmed, each at most 256 characters, at most 64 of them, in file order. */
  directives: z.array(z.string().max(256)).max(64),
  /** The file was larger than the read bound, or had more lines of interest than are kept. */
  truncated: z.boolean(),
  error: z.string().max(200).nullable(),
});

export const DnsAnswerV1 = z.object({
  /** The record's owner name (a CNAME's target when the answer went through one). */
  name: z.string().max(1100),
  type: z.enum(['A', 'AAAA']),
  ttl: z.number().int().nonnegative(),
  addr: z.string(),
});

/**
 * One DNS message a process sent to port 53 (a query) or read back (an answer). Names are RFC 1035
 * text: a byte other than a letter, digit, '-' or '_' inside a label is written \DDD, so a dot or a
 * NUL inside a label never reads as a separator.
 */
export const DnsDataV1 = z.object({
  direction: z.enum(['query', 'answer']),
  /** The message id; null when the message was unreadable. */
  id: z.number().int().min(0).max(65535).nullable(),
  qname: z.string().max(1100).nullable(),
  qtype: z.number().int().min(0).max(65535).nullable(),
  /** A, AAAA, CNAME, … or null for a type without a name here. */
  qtypeName: z.string().nullable(),
  /** The response code of an answer (0 NOERROR, 3 NXDOMAIN); null for a query. */
  rcode: z.number().int().min(0).max(15).nullable(),
  /** A and AAAA records of an answer, as far as the captured bytes reach. */
  answers: z.array(DnsAnswerV1).max(64),
  /** The server the socket was connected or sent to, when the probe saw it. */
  server: z
    .object({ family: z.enum(['ipv4', 'ipv6']), addr: z.string(), port: z.number().int().min(0).max(65535) })
    .nullable(),
  /** The message's length as sent or read. */
  len: z.number().int().nonnegative(),
  /** The probe copied only the first bytes of the message (192): records past them are missing. */
  truncated: z.boolean(),
  /** Why the message could not be read whole (e.g. "compression loop", "ambiguous capture"); null when it was. */
  malformed: z.string().nullable(),
});

const Envelope = {
  id: z.string().min(1).max(128),
  v: z.literal(1),
  host: HostId,
  ts: NsTimestamp,
  proc: ProcessV1,
};

export const EventV1 = z.discriminatedUnion('kind', [
  z.object({ ...Envelope, kind: z.literal('exec'), exec: ExecDataV1 }),
  z.object({ ...Envelope, kind: z.literal('exit'), exit: ExitDataV1 }),
  z.object({ ...Envelope, kind: z.literal('connect'), connect: ConnectDataV1 }),
  z.object({ ...Envelope, kind: z.literal('gpu'), gpu: GpuDataV1 }),
  z.object({ ...Envelope, kind: z.literal('exe'), exe: ExeDataV1 }),
  z.object({ ...Envelope, kind: z.literal('dns'), dns: DnsDataV1 }),
  z.object({ ...Envelope, kind: z.literal('conn'), conn: ConnDataV1 }),
  z.object({ ...Envelope, kind: z.literal('config'), config: ConfigDataV1 }),
]);
export type EventV1 = z.infer<typeof EventV1>;
export type ExecEventV1 = Extract<EventV1, { kind: 'exec' }>;
export type ConnectEventV1 = Extract<EventV1, { kind: 'connect' }>;
export type GpuEventV1 = Extract<EventV1, { kind: 'gpu' }>;
export type DnsEventV1 = Extract<EventV1, { kind: 'dns' }>;
export type ExitEventV1 = Extract<EventV1, { kind: 'exit' }>;
export type ExeEventV1 = Extract<EventV1, { kind: 'exe' }>;
export type ConnEventV1 = Extract<EventV1, { kind: 'conn' }>;
export type ConfigEventV1 = Extract<EventV1, { kind: 'config' }>;

/** Largest encoded event the pipeline accepts; bigger messages are rejected, counted and dead-lettered. */
export const MAX_EVENT_BYTES = 256 * 1024;
