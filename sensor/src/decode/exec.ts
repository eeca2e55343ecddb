import { isIP } from 'node:net';
import { z } from 'zod/v4';
import { RECORD } from '../probes/records.js';
import { Comm, I64, Ns, recordUnion, U32, U64, type DecodeResult } from './records.js';
import { parseNumericMapKey } from './bpftrace-output.js';
import type { StdioFdV1 } from '@vigil/schema';
import { ExecFdValue, ExecSockValue, isInetSocket, stdioFd } from './stdio.js';

/** Records of probes/exec.bt (see its header): failed calls as tuples, successful ones in maps. */
export const ExecArgRecord = z.tuple([z.literal(RECORD.exec.arg), Ns, U32, U32, z.string()]);
export const ExecHeaderRecord = z.tuple([
  z.literal(RECORD.exec.caller),
  Ns,
  U32,
  U32,
  U32,
  U32,
  U32,
  U64,
  Comm,
  z.union([z.literal(0), z.literal(1)]),
]);
export const ExecReturnRecord = z.tuple([z.literal(RECORD.exec.error), Ns, U32, I64, Comm]);
export const ExecFilenameRecord = z.tuple([z.literal(RECORD.exec.filename), Ns, U32, z.string()]);

/** [5, ns]: the end of a flush of the maps. */
export const ExecFlushRecord = z.tuple([z.literal(RECORD.exec.flush), Ns]);

export const ExecRecord = recordUnion(
  ExecArgRecord,
  ExecHeaderRecord,
  ExecReturnRecord,
  ExecFilenameRecord,
  ExecFlushRecord,
);

/**
 * Values of the flushed maps, by map name without its epoch suffix. A head ends with the process's
 * exec count (task->self_exec_id), the key of its fds in @exec_fd; a head without it (a probe that
 * reads no fds) gives an exec without stdio.
 */
export const ExecHeadValue = z.tuple([U32, U32, U32, U32, U64, Comm, U64, z.string(), U64.optional()]);

/** The most argv elements the probe reads. */
export const EXEC_MAX_ARGS = 32;

/** What an exec tells about its process, however its records were put together. */
export interface ExecFields {
  ns: number;
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  gid: number;
  cgroupId: number;
  comm: string;
  filename: string;
  argv: string[];
  argvTruncated: boolean;
  /** fds 0-2 of the new program (a successful exec the probe read them for). */
  stdio?: StdioFdV1[];
}

/** One successful exec, whole, from a flush of the maps. */
export interface ExecDone extends ExecFields {
  type: 'exec.done';
  ret: 0;
}

export interface BatchDecoded<T> {
  records: T[];
  /** Entries that did not decode (counted as rejects). */
  rejects: number;
  /** Entries the probe wrote but the flush did not hold (a full map; counted as lost). */
  lost: number;
}

export type Maps = ReadonlyMap<string, Record<string, unknown>>;

/** A probe's "@<name>_sent" map: entries it wrote, by kind (0 for a kind it did not print). */
export function sentCounts(sent: Record<string, unknown> | undefined): (kind: string) => number {
  return (kind) => (typeof sent?.[kind] === 'number' ? (sent[kind] as number) : 0);
}

/**
 * Entries of a probe's "@<name>_late" map that neither this flush nor the one before holds: each is
 * a write its probe made to the set before while that set was being printed, so the print may have
 * missed it (see exec.bt). `held(key, maps)` says whether a flush holds the write `key` names; a
 * malformed key is a reject.
 */
export function lateLost(
  late: Record<string, unknown> | undefined,
  maps: Maps,
  prev: Maps | undefined,
  held: (key: string, maps: Maps) => boolean | null,
): { lost: number; rejects: number } {
  let lost = 0;
  let rejects = 0;
  for (const key of Object.keys(late ?? {})) {
    const inThis = held(key, maps);
    if (inThis === null) {
      rejects++;
      continue;
    }
    if (!inThis && !(prev && held(key, prev))) lost++;
  }
  return { lost, rejects };
}

/**
 * One flush of exec.bt's maps as whole execs. `argLimit` is the length at which the probe's string
 * limit may have cut an argument; `prev` is the flush before, for the execs written late to it.
 */
export function decodeExecBatch(maps: Maps, argLimit: number, prev?: Maps): BatchDecoded<ExecDone> {
  let rejects = 0;
  let badArgs = 0;
  const args = new Map<string, string[]>();
  for (const [key, v] of Object.entries(maps.get('@exec_arg') ?? {})) {
    const k = parseNumericMapKey(key, 3);
    if (!k || typeof v !== 'string' || k[2]! >= EXEC_MAX_ARGS) {
      rejects++;
      badArgs++;
      continue;
    }
    const id = `${k[0]},${k[1]}`;
    let list = args.get(id);
    if (!list) args.set(id, (list = []));
    list[k[2]!] = v;
  }
  const records: ExecDone[] = [];
  let badHeads = 0;
  // Arguments a decoded head says it has that the flush does not hold (a full map refuses new keys).
  let missingArgs = 0;
  // fd entries and inet socket endpoints a decoded head says were written that neither this flush
  // nor the one before holds.
  let missingFds = 0;
  for (const [key, v] of Object.entries(maps.get('@exec_head') ?? {})) {
    const k = parseNumericMapKey(key, 2);
    const h = ExecHeadValue.safeParse(v);
    if (!k || !h.success) {
      rejects++;
      badHeads++;
      continue;
    }
    const [tid, ppid, uid, gid, cgroupId, comm, argc, filename, execId] = h.data;
    const list = args.get(`${k[0]},${k[1]}`) ?? [];
    let stdio: StdioFdV1[] | undefined;
    if (execId !== undefined) {
      const fds = execStdio(maps, prev, k[0]!, execId);
      rejects += fds.rejects;
      missingFds += fds.missing;
      stdio = fds.stdio;
    }
    const want = Math.min(argc, EXEC_MAX_ARGS);
    const argv = Array.from({ length: want }, (_, i) => list[i] ?? '');
    for (let i = 0; i < want; i++) if (list[i] === undefined) missingArgs++;
    records.push({
      type: 'exec.done',
      ns: k[1]!,
      pid: k[0]!,
      tid,
      ppid,
      uid,
      gid,
      cgroupId,
      comm,
      filename,
      argv,
      argvTruncated: argc > EXEC_MAX_ARGS || argv.some((a) => Buffer.byteLength(a) >= argLimit),
      ret: 0,
      ...(stdio ? { stdio } : {}),
    });
  }
  // Heads the probe wrote that are not here, and arguments missing from heads that are. A rejected
  // entry was received, so it is not lost: it is counted once, as a reject (a rejected argument may be
  // one a head misses). The arguments of a lost head go with it: its exec is counted once.
  // A late exec bumped no count: it is lost if neither flush holds its head.
  const late = lateLost(maps.get('@exec_late'), maps, prev, (key, m) =>
    parseNumericMapKey(key, 2) ? m.get('@exec_head')?.[key] !== undefined : null,
  );
  const lost =
    Math.max(0, sentCounts(maps.get('@exec_sent'))('1') - records.length - badHeads) +
    Math.max(0, missingArgs - badArgs) +
    missingFds +
    late.lost;
  return { records, rejects: rejects + late.rejects, lost };
}

/** The map's entry `key` in this flush or, written just before a flip the head missed, the one before. */
function entry(maps: Maps, prev: Maps | undefined, map: string, key: string): unknown {
  return maps.get(map)?.[key] ?? prev?.get(map)?.[key];
}

/**
 * fds 0-2 of exec `execId` of process `pid`: its @exec_fd entry, and @exec_sock for each inet
 * socket among them. The probe writes them just before the head, so a flip in between puts them in
 * the flush before. An entry that does not decode is a reject and its exec has no stdio; a missing
 * one is counted missing (the map was full): without the fd entry the exec has no stdio, without
 * an inet socket's endpoints that fd has none.
 */
function execStdio(
  maps: Maps,
  prev: Maps | undefined,
  pid: number,
  execId: number,
): { stdio?: StdioFdV1[]; rejects: number; missing: number } {
  const raw = entry(maps, prev, '@exec_fd', `${pid},${execId}`);
  if (raw === undefined) return { rejects: 0, missing: 1 };
  const fds = ExecFdValue.safeParse(raw);
  if (!fds.success) return { rejects: 1, missing: 0 };
  let rejects = 0;
  let missing = 0;
  const stdio = fds.data.map((e, fd) => {
    if (!isInetSocket(e)) return stdioFd(fd, e, undefined);
    const rawSock = entry(maps, prev, '@exec_sock', `${pid},${execId},${fd}`);
    if (rawSock === undefined) {
      missing++;
      return stdioFd(fd, e, undefined);
    }
    const sock = ExecSockValue.safeParse(rawSock);
    const fam = stdioFd(fd, e, undefined).family === 'ipv4' ? 4 : 6;
    // Endpoints of the other family than the socket's are not this socket's.
    if (!sock.success || isIP(sock.data[1]) !== fam || isIP(sock.data[3]) !== fam) {
      rejects++;
      return stdioFd(fd, e, undefined);
    }
    return stdioFd(fd, e, sock.data);
  });
  return { stdio, rejects, missing };
}

export type ExecDecoded =
  | { type: 'exec.arg'; ns: number; pid: number; idx: number; arg: string }
  | { type: 'exec.filename'; ns: number; pid: number; filename: string }
  | ({ type: 'exec.enter'; moreArgs: boolean } & Omit<ExecFields, 'filename' | 'argv' | 'argvTruncated'>)
  | { type: 'exec.return'; ns: number; pid: number; ret: number; comm: string }
  | { type: 'exec.flush'; ns: number };

export function decodeExec(data: unknown[]): DecodeResult<ExecDecoded> {
  const r = ExecRecord.safeParse(data);
  if (!r.success) return r;
  const t = r.data;
  switch (t[0]) {
    case 1:
      return { success: true, data: { type: 'exec.arg', ns: t[1], pid: t[2], idx: t[3], arg: t[4] } };
    case 2:
      return {
        success: true,
        data: {
          type: 'exec.enter',
          ns: t[1],
          pid: t[2],
          tid: t[3],
          ppid: t[4],
          uid: t[5],
          gid: t[6],
          cgroupId: t[7],
          comm: t[8],
          moreArgs: t[9] === 1,
        },
      };
    case 3:
      return { success: true, data: { type: 'exec.return', ns: t[1], pid: t[2], ret: t[3], comm: t[4] } };
    case 4:
      return { success: true, data: { type: 'exec.filename', ns: t[1], pid: t[2], filename: t[3] } };
    case 5:
      return { success: true, data: { type: 'exec.flush', ns: t[1] } };
  }
}
