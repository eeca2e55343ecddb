import { isIP } from 'node:net';
import { z } from 'zod/v4';
import type { StdioFdV1 } from '@vigil/schema';
import { U32, U64 } from './records.js';

/**
 * fds 0-2 of a new program, as exec.bt's @exec_fd and @exec_sock maps hold them (see its header):
 * what each fd is, from its inode's mode, number and one more word (`aux`), and for an inet socket
 * its two endpoints.
 */

/** (mode, ino, aux) of one fd; mode 0 and ino 0: no file at that fd. */
export const ExecFdEntry = z.tuple([z.number().int().min(0).max(0xffff), U64, U32]);
/** The @exec_fd value: fds 0, 1 and 2. */
export const ExecFdValue = z.tuple([ExecFdEntry, ExecFdEntry, ExecFdEntry]);

const Port = z.number().int().min(0).max(65535);
const Address = z.string().refine((a) => isIP(a) !== 0, 'not an IP address');
/** The @exec_sock value: (local port, local address, remote port, remote address). */
export const ExecSockValue = z.tuple([Port, Address, Port, Address]);
export type ExecSockValue = z.infer<typeof ExecSockValue>;

const S_IFMT = 0o170000;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFDIR = 0o040000;
const S_IFBLK = 0o060000;
const S_IFREG = 0o100000;
const S_IFSOCK = 0o140000;
/** The superblock magic of pipefs: an fd on it is an anonymous pipe (a named fifo lives elsewhere). */
export const PIPEFS_MAGIC = 0x50495045;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/**
 * Terminal majors: 4 (the virtual consoles and serial lines), 5 (/dev/tty, /dev/console, /dev/ptmx)
 * and 136-143 (the Unix98 pty slaves, /dev/pts/N).
 */
export function isTtyMajor(major: number): boolean {
  return major === 4 || major === 5 || (major >= 136 && major <= 143);
}

/** The kernel's dev_t (major << 20 | minor), as i_rdev holds it. */
const majorOf = (rdev: number) => rdev >>> 20;

/** The family << 16 | protocol word of a socket fd. */
export function socketKind(aux: number): { family: number; protocol: number } {
  return { family: aux >>> 16, protocol: aux & 0xffff };
}

/** Whether an fd entry is an inet (v4 or v6) socket, whose endpoints @exec_sock should hold. */
export function isInetSocket([mode, , aux]: z.infer<typeof ExecFdEntry>): boolean {
  const { family } = socketKind(aux);
  return (mode & S_IFMT) === S_IFSOCK && (family === AF_INET || family === AF_INET6);
}

/**
 * One fd as the contract has it. `sock` is its @exec_sock entry (an inet socket's endpoints), when
 * the flush holds it; without it an inet socket keeps its type and has no endpoints.
 */
export function stdioFd(
  fd: number,
  [mode, ino, aux]: z.infer<typeof ExecFdEntry>,
  sock: ExecSockValue | undefined,
): StdioFdV1 {
  if (mode === 0 && ino === 0) return { fd, type: 'none', ino: null };
  const base = { fd, ino };
  switch (mode & S_IFMT) {
    case S_IFCHR:
      return { ...base, type: isTtyMajor(majorOf(aux)) ? 'tty' : 'char' };
    case S_IFIFO:
      return { ...base, type: aux === PIPEFS_MAGIC ? 'pipe' : 'fifo' };
    case S_IFREG:
      return { ...base, type: 'file' };
    case S_IFDIR:
      return { ...base, type: 'dir' };
    case S_IFBLK:
      return { ...base, type: 'block' };
    case S_IFSOCK:
      return { ...base, ...socketFd(aux, sock) };
    default:
      // An anonymous inode (eventfd, epoll, …) has no file type bits.
      return { ...base, type: 'other' };
  }
}

function socketFd(aux: number, sock: ExecSockValue | undefined): Omit<StdioFdV1, 'fd' | 'ino'> {
  const { family, protocol } = socketKind(aux);
  if (family === AF_UNIX) return { type: 'unix' };
  if (family !== AF_INET && family !== AF_INET6) return { type: 'socket' };
  const type = protocol === IPPROTO_TCP ? 'tcp' : protocol === IPPROTO_UDP ? 'udp' : 'socket';
  const out: Omit<StdioFdV1, 'fd' | 'ino'> = { type, family: family === AF_INET ? 'ipv4' : 'ipv6' };
  if (sock) {
    out.local = { addr: sock[1], port: sock[0] };
    out.remote = { addr: sock[3], port: sock[2] };
  }
  return out;
}
