import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class TracefsError extends Error {
  override name = 'TracefsError';
}

/**
 * Syscall tracepoints need tracefs. A fresh host may have it unmounted: mount it at
 * /sys/kernel/tracing, or say exactly why that is impossible.
 */
export async function ensureTracefs(root = '/sys/kernel/tracing'): Promise<'present' | 'mounted'> {
  if (existsSync(`${root}/events/syscalls`)) return 'present';
  if (existsSync('/sys/kernel/debug/tracing/events/syscalls')) return 'present';
  try {
    await run('mount', ['-t', 'tracefs', 'tracefs', root]);
  } catch (cause) {
    const uid = process.getuid?.();
    throw new TracefsError(
      `tracefs is not mounted at ${root} and mounting it failed${uid !== 0 ? ' (the sensor must run as root)' : ''}: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (!existsSync(`${root}/events/syscalls`)) {
    throw new TracefsError(
      `tracefs mounted at ${root} but it has no syscall tracepoints (kernel without CONFIG_FTRACE_SYSCALLS?)`,
    );
  }
  return 'mounted';
}
