import { z } from 'zod/v4';
import { HostId, NsTimestamp } from './common.js';
import { ProcessV1, Sha256Hex } from './process.v1.js';

export const EVENT_KINDS = ['exec', 'exit', 'connect', 'gpu', 'exe', 'dns'] as const;
export const EventKind = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof EventKind>;

const Window = {
  /** Calls folded into this event: 1 for a first-seen record, the repeat count for a window record. */
  count: z.number().int().positive(),
  firstTs: NsTimestamp,
  lastTs: NsTimestamp,
};

export const ExecDataV1 = z.object({
  filename: z.string(),
  argv: z.array(z.string()),
  argvTruncated: z.boolean(),
  /** execve's return: 0 on success, a negative errno; null when the return was not seen. */
  ret: z.number().int().nullable(),
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
]);
export type EventV1 = z.infer<typeof EventV1>;
export type ExecEventV1 = Extract<EventV1, { kind: 'exec' }>;
export type ConnectEventV1 = Extract<EventV1, { kind: 'connect' }>;
export type GpuEventV1 = Extract<EventV1, { kind: 'gpu' }>;
export type DnsEventV1 = Extract<EventV1, { kind: 'dns' }>;
export type ExitEventV1 = Extract<EventV1, { kind: 'exit' }>;
export type ExeEventV1 = Extract<EventV1, { kind: 'exe' }>;

/** Largest encoded event the pipeline accepts; bigger messages are rejected, counted and dead-lettered. */
export const MAX_EVENT_BYTES = 256 * 1024;
