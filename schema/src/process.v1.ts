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
});
export type ProcessV1 = z.infer<typeof ProcessV1>;
