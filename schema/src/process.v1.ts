import { z } from 'zod/v4';
import { Id32, NsTimestamp, Pid } from './common.js';

/** One ancestor, nearest first. */
export const AncestorV1 = z.object({
  pid: Pid,
  comm: z.string(),
  exe: z.string(),
  argv: z.array(z.string()),
});
export type AncestorV1 = z.infer<typeof AncestorV1>;

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const ProcessV1 = z.object({
  pid: Pid,
  ppid: Pid,
  uid: Id32,
  gid: Id32,
  comm: z.string(),
  exe: z.string(),
  argv: z.array(z.string()),
  /** An argument was cut at the probe's string limit, or argv had more elements than it reads. */
  argvTruncated: z.boolean(),
  cwd: z.string().optional(),
  cgroupId: z.number().int().nonnegative(),
  cgroup: z.string(),
  containerId: z.string().nullable(),
  /** A scheduler job the process belongs to, read from its cgroup (Slurm job, Kubernetes pod). */
  job: z.string().nullable(),
  startTs: NsTimestamp.nullable(),
  /**
   * Its ancestors as they were when it was born, nearest first: a parent that execs or exits after
   * the fork is still shown with the image that forked it (`ppid` is the parent it has now, which
   * differs once it was reparented).
   */
  ancestry: z.array(AncestorV1),
  /** The chain was cut at the sensor's bound or at a process the sensor could not resolve. */
  ancestryTruncated: z.boolean(),
  /**
   * Its parent now is not the one it was born under (the parent exited: re-parented to pid 1 or a
   * subreaper, as after `nohup … &` or a double fork); `ancestry` still shows the chain at birth.
   */
  reparented: z.boolean().optional(),
  /** SHA-256 of the executable that ran, hex; on events built after the sensor hashed it. */
  exeHash: Sha256Hex.optional(),
  /** The executable's mtime or ctime was within minutes of the exec: dropped, then run. */
  exeRecentlyWritten: z.boolean().optional(),
  /** The executable's directory is world-writable (/tmp, /dev/shm) or owned by a user other than root. */
  exeInWritableDir: z.boolean().optional(),
  /** The program ran from a file descriptor (memfd, /proc/self/fd/N, /dev/fd/N), not a path. */
  fileless: z.boolean().optional(),
  /** The memfd's name as given to memfd_create, for a fileless exec of a memfd. */
  memfdName: z.string().optional(),
});
export type ProcessV1 = z.infer<typeof ProcessV1>;
