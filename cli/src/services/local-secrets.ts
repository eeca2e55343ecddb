import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_DATA_DIR } from '@vigil/schema';

export class LocalSecretsError extends Error {
  override name = 'LocalSecretsError';
}

export { API_TOKEN_FILE, DEFAULT_DATA_DIR } from '@vigil/schema';
/** Members of this group (when it exists) may read the API token, and so use the API, without root. */
export const READER_GROUP = 'vigil';

/** The data directory when no flag names one: VIGIL_DATA_DIR, else DEFAULT_DATA_DIR. */
export const dataDirFromEnv = (): string => process.env.VIGIL_DATA_DIR || DEFAULT_DATA_DIR;

/** HTTP's token68: a bearer token as a header carries it; nothing a NATS config string must escape. */
const TOKEN68 = /^[A-Za-z0-9._~+/=-]{16,512}$/;

export function isValidSecret(s: string): boolean {
  return TOKEN68.test(s);
}

const uid = (): number => process.getuid?.() ?? 0;

/** The reader group's id, or null when the host has no such group. */
export function readerGroupId(): number | null {
  const r = spawnSync('getent', ['group', READER_GROUP], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const gid = Number(r.stdout.split(':')[2]);
  return Number.isInteger(gid) ? gid : null;
}

/**
 * Creates `dir` or closes an existing one to other users: mode 0700, or 0750 with the reader group
 * (which may then reach the API token, never the secrets/ folder). A folder another user owns is
 * refused: that user could read or replace what Vigil keeps there.
 */
export function secureDir(dir: string, gid: number | null): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new LocalSecretsError(`${dir} is not a directory`);
  if (st.uid !== uid())
    throw new LocalSecretsError(
      `${dir} belongs to uid ${st.uid}, not to the user Vigil runs as (uid ${uid()}): that user could read or replace Vigil's data and secrets`,
    );
  if (gid !== null && st.gid !== gid) chownSync(dir, -1, gid);
  const mode = gid === null ? 0o700 : 0o750;
  if ((st.mode & 0o7777) !== mode) chmodSync(dir, mode);
}

/** Writes a file whole (temporary file, then rename), created with `mode` and `gid`, never through a link. */
export function writeAtomic(path: string, text: string, mode: number, gid: number | null): void {
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    if (gid !== null) fchownSync(fd, uid(), gid);
    fchmodSync(fd, mode);
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The secret stored in `path`, or why it cannot be used (then it is replaced). */
function readSecret(path: string, allowedMode: number): { value: string } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: 'missing' };
    if (code === 'ELOOP') return { problem: 'a symbolic link' };
    throw new LocalSecretsError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { problem: 'not a regular file' };
    if (st.uid !== uid()) return { problem: `owned by uid ${st.uid}` };
    if ((st.mode & 0o777 & ~allowedMode) !== 0)
      return { problem: `mode ${(st.mode & 0o777).toString(8)} lets others read it` };
    const value = readFileSync(fd, 'utf8').trim();
    return isValidSecret(value)
      ? { value }
      : { problem: 'not a token (16-512 characters of A-Z a-z 0-9 . _ ~ + / = -)' };
  } finally {
    closeSync(fd);
  }
}

/**
 * The secret kept in `path`, created (32 random bytes, hex) when missing. One that others could have
 * read, or that is not ours, is replaced, and the log says why: a secret that leaked is no secret.
 */
export function loadOrCreateSecret(path: string, opts: { gid: number | null; log: Logger; what: string }): string {
  const mode = opts.gid === null ? 0o600 : 0o640;
  const found = readSecret(path, mode);
  if ('value' in found) {
    const st = statSync(path);
    // Keep the group in step with the host's: a reader group added (or removed) since creation.
    if (opts.gid !== null && st.gid !== opts.gid) chownSync(path, -1, opts.gid);
    return found.value;
  }
  if (found.problem !== 'missing')
    opts.log.warn(
      { 'secret.path': path, 'secret.problem': found.problem },
      `${opts.what} replaced: the old one could not be trusted`,
    );
  const value = randomBytes(32).toString('hex');
  writeAtomic(path, `${value}\n`, mode, opts.gid);
  opts.log.info({ 'secret.path': path }, `${opts.what} created`);
  return value;
}

/**
 * The API token of a control plane that keeps it in `file`: readable by root, and by the reader group
 * when the host has one. Its folder is created closed to others when missing.
 */
export function loadOrCreateApiToken(file: string, log: Logger): string {
  const gid = readerGroupId();
  mkdirSync(dirname(file), { recursive: true, mode: gid === null ? 0o700 : 0o750 });
  return loadOrCreateSecret(file, { gid, log, what: 'API token' });
}
