import { randomUUID } from 'node:crypto';
import type { AncestorV1, AlertV1, EventV1, ExecEventV1, ProcessV1, StdioFdV1 } from '@vigil/schema';
import { DetectionEngine, type EngineOptions, type LoadedDetection } from './engine.js';
import { BUILTIN_DETECTIONS } from './builtin/index.js';
import { EMPTY_EXPECTED_GPU } from './builtin/gpu.js';
import { defineDetection, type AnyDetection, type DetectionConfig } from './define.js';

/** Event builders for detection tests (and `vigil detections test` examples). */
let clock = 1_700_000_000_000_000_000n;
const nextTs = () => (clock += 1_000_000n).toString();

export function proc(over: Partial<ProcessV1> & { ancestry?: AncestorV1[] } = {}): ProcessV1 {
  return {
    pid: 4242,
    ppid: 4000,
    uid: 1000,
    gid: 1000,
    comm: 'bash',
    exe: '/usr/bin/bash',
    argv: ['bash'],
    argvTruncated: false,
    cgroupId: 1,
    cgroup: '/system.slice/slurmstepd.scope/job_42/step_0',
    containerId: null,
    job: 'slurm:42',
    startTs: null,
    ancestry: [
      { pid: 4000, comm: 'python3', exe: '/usr/bin/python3.11', argv: ['python3', 'train.py'] },
      { pid: 3000, comm: 'slurmstepd', exe: '/usr/sbin/slurmstepd', argv: ['slurmstepd: [42.0]'] },
      { pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] },
    ],
    ancestryTruncated: false,
    ...over,
  };
}

export function exec(argv: string[], p: Partial<ProcessV1> = {}, exe?: string): EventV1 {
  const path = exe ?? (argv[0]!.startsWith('/') ? argv[0]! : `/usr/bin/${argv[0]}`);
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts: nextTs(),
    kind: 'exec',
    proc: proc({ comm: (path.split('/').pop() ?? '').slice(0, 15), exe: path, argv, ...p }),
    exec: { filename: path, argv, argvTruncated: false, ret: 0 },
  };
}

export function exited(code: number, p: Partial<ProcessV1> = {}): EventV1 {
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts: nextTs(),
    kind: 'exit',
    proc: proc(p),
    exit: { code, signal: null },
  };
}

export function connect(daddr: string, dport: number, p: Partial<ProcessV1> = {}, hostname?: string): EventV1 {
  const ts = nextTs();
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts,
    kind: 'connect',
    proc: proc(p),
    connect: {
      family: daddr.includes(':') ? 'ipv6' : 'ipv4',
      daddr,
      dport,
      ret: 0,
      count: 1,
      firstTs: ts,
      lastTs: ts,
      ...(hostname ? { hostname } : {}),
    },
  };
}

export function gpu(name: string, rmClassName: string | null, p: Partial<ProcessV1> = {}): EventV1 {
  const ts = nextTs();
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts,
    kind: 'gpu',
    proc: proc(p),
    gpu: {
      device: '/dev/nvidiactl',
      driver: 'nvidia',
      major: 195,
      minor: 255,
      request: 0,
      nr: 0x2b,
      name,
      xfer: false,
      rmClass: rmClassName ? 0xcbc0 : null,
      rmClassName,
      rmControl: null,
      count: 1,
      firstTs: ts,
      lastTs: ts,
    },
  };
}

const endpointOf = (text: string) => {
  const i = text.lastIndexOf(':');
  return { addr: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
};

/** Stdio descriptors for exec events: `tcpFd(0, '10.0.0.5:4444')` is fd 0 a TCP socket to that peer. */
export const tcpFd = (fd: number, remote: string, local = '10.0.0.2:51000', type: 'tcp' | 'udp' = 'tcp'): StdioFdV1 => {
  const r = endpointOf(remote);
  return {
    fd,
    type,
    ino: 90_000 + fd,
    family: r.addr.includes(':') ? 'ipv6' : 'ipv4',
    local: endpointOf(local),
    remote: r,
  };
};
export const pipeFd = (fd: number, ino: number): StdioFdV1 => ({ fd, type: 'pipe', ino });
export const ttyFd = (fd: number): StdioFdV1 => ({ fd, type: 'tty', ino: 3 });
export const fileFd = (fd: number): StdioFdV1 => ({ fd, type: 'file', ino: 12345 });
/** Fds 0-2 all on one socket, as after dup2(s, 0..2). */
export const socketStdio = (remote: string, local?: string): StdioFdV1[] =>
  [0, 1, 2].map((fd) => tcpFd(fd, remote, local));
export const ttyStdio = (): StdioFdV1[] => [ttyFd(0), ttyFd(1), ttyFd(2)];

/** An exec whose new program had these fds 0-2. */
export function execWithStdio(
  argv: string[],
  stdio: StdioFdV1[],
  p: Partial<ProcessV1> = {},
  exe?: string,
): ExecEventV1 {
  const ev = exec(argv, p, exe) as ExecEventV1;
  return { ...ev, exec: { ...ev.exec, stdio } };
}

/** A TCP socket's life event (`conn`): local and remote as "addr:port". */
export function conn(
  event: 'listen' | 'established' | 'close',
  direction: 'out' | 'in' | null,
  local: string,
  remote: string,
  p: Partial<ProcessV1> = {},
  durationMs: number | null = event === 'close' ? 1000 : null,
): EventV1 {
  const ts = nextTs();
  const r = endpointOf(remote);
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts,
    kind: 'conn',
    proc: proc(p),
    conn: {
      event,
      direction,
      family: r.addr.includes(':') ? 'ipv6' : 'ipv4',
      local: endpointOf(local),
      remote: r,
      durationMs,
      totalDurationMs: durationMs,
      count: 1,
      firstTs: ts,
      lastTs: ts,
    },
  };
}

/** The sensor's reference hash of the host's own copy of a tool (`exe.reference`), for ctx.toolOf. */
export function exeReference(path: string, sha256: string): EventV1 {
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts: nextTs(),
    kind: 'exe',
    proc: proc({ pid: 777, comm: 'vigil-sensor', exe: '/usr/bin/node', argv: ['node'] }),
    exe: { path, sha256, size: 1000, recentlyWritten: false, inWritableDir: false, reference: true },
  };
}

/** High and critical alerts of a run: what a benign workload must never raise. */
export const loud = (alerts: readonly AlertV1[]): string[] =>
  alerts.filter((a) => a.severity === 'high' || a.severity === 'critical').map((a) => `${a.ruleId}: ${a.reason}`);

/** A DNS query (no answers) or answer (name -> addrs) read by the process. */
export function dns(qname: string, answers: string[] = [], p: Partial<ProcessV1> = {}): EventV1 {
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts: nextTs(),
    kind: 'dns',
    proc: proc(p),
    dns: {
      direction: answers.length ? 'answer' : 'query',
      id: 1,
      qname,
      qtype: 1,
      qtypeName: 'A',
      rcode: answers.length ? 0 : null,
      answers: answers.map((addr) => ({ name: qname, type: 'A' as const, ttl: 60, addr })),
      server: { family: 'ipv4', addr: '127.0.0.53', port: 53 },
      len: 40,
      truncated: false,
      malformed: null,
    },
  };
}

/** A TCP socket event by its peer only ("addr:port"), from 10.0.0.2; `ts` (ns) places it in time. */
export function connTo(
  event: 'listen' | 'established' | 'close',
  peer: string,
  p: Partial<ProcessV1> = {},
  more: { direction?: 'in' | 'out'; durationMs?: number; ts?: string; localPort?: number } = {},
): EventV1 {
  const direction = event === 'listen' ? null : (more.direction ?? 'out');
  const ev = conn(
    event,
    direction,
    `10.0.0.2:${more.localPort ?? 40000}`,
    peer,
    p,
    event === 'close' ? (more.durationMs ?? 0) : null,
  );
  return more.ts && ev.kind === 'conn'
    ? { ...ev, ts: more.ts, conn: { ...ev.conn, firstTs: more.ts, lastTs: more.ts } }
    : ev;
}

/** A config file the process was started with, and its lines of interest. */
export function config(
  path: string,
  directives: string[],
  p: Partial<ProcessV1> = {},
  reason: 'argument' | 'ssh-config' | 'beside-exe' | 'cwd' = 'beside-exe',
): EventV1 {
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts: nextTs(),
    kind: 'config',
    proc: proc(p),
    config: { path, reason, size: 512, sha256: null, directives, truncated: false, error: null },
  };
}

/** The sensor's report of an executable's hash (`reference`: the host's own copy of a tool). */
export function exeReport(
  path: string,
  sha256: string,
  more: { reference?: boolean; p?: Partial<ProcessV1> } = {},
): EventV1 {
  return {
    id: randomUUID(),
    v: 1,
    host: 'h1',
    ts: nextTs(),
    kind: 'exe',
    proc: proc(more.p),
    exe: {
      path,
      sha256,
      size: 1,
      recentlyWritten: false,
      inWritableDir: false,
      ...(more.reference ? { reference: true } : {}),
    },
  };
}

export const TEST_CONFIG: DetectionConfig = { expectedGpu: EMPTY_EXPECTED_GPU, sensorPids: () => new Set([777]) };

export function builtinEngine(
  config: DetectionConfig = TEST_CONFIG,
  opts: Omit<Partial<EngineOptions>, 'config' | 'onAlert'> = {},
): { engine: DetectionEngine; alerts: AlertV1[] } {
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ ...opts, config, onAlert: (a) => alerts.push(a) });
  engine.setDetections(
    Object.values(BUILTIN_DETECTIONS).map(
      (detection): LoadedDetection => ({ detection, source: 'builtin', author: null, origin: 'builtin' }),
    ),
  );
  return { engine, alerts };
}

/** A detection that fires on every exec (of those images, when given), for engine tests. */
export const alwaysFires = (id: string, images?: string[]): AnyDetection =>
  defineDetection({
    id,
    title: id,
    severity: 'low',
    mitre: [],
    on: ['exec'],
    ...(images ? { images } : {}),
    match: () => ({ reason: id }),
  }) as AnyDetection;

/** A detection as the engine holds it once loaded, for engine tests. */
export const asLoaded = (detection: AnyDetection): LoadedDetection => ({
  detection,
  source: 'builtin',
  author: null,
  origin: 'test',
});

/** Rule ids raised by a sequence of events. */
export function fire(...events: EventV1[]): string[] {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => a.ruleId);
}
