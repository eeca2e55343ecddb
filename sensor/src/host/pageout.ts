import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { readRssBytes } from './procfs.js';

/** Built from sensor/native/pageout.c by scripts/bootstrap.sh (and the Dockerfile). */
export const PAGEOUT_HELPER = fileURLToPath(new URL('../../build/vigil-pageout', import.meta.url));

// bpftrace links LLVM and clang for the one compile at start; nothing runs them once probes attach.
const COMPILER_LIBRARY = /\/lib(?:LLVM|clang)(?:-[\w.]+)?\.so(?:\.\d+)*$/;

export class PageoutError extends Error {
  override readonly name = 'PageoutError';
}

/**
 * The compiler's readable, read-only file mappings in a /proc/PID/maps text, as "start-end".
 * Writable ones are left out: their pages are relocated copies (anonymous) that only swap could take.
 */
export function compilerRanges(maps: string): string[] {
  const out: string[] = [];
  for (const line of maps.split('\n')) {
    const f = line.split(/\s+/);
    const [range, perms, path] = [f[0], f[1], f[5]];
    if (!range || !perms || !path || perms[0] !== 'r' || perms[1] === 'w') continue;
    if (COMPILER_LIBRARY.test(path)) out.push(range);
  }
  return out;
}

export interface PageoutResult {
  ranges: number;
  /** Bytes of address space advised (the ranges' size), not pages freed: see the RSS figures. */
  advisedBytes: number;
  rssBeforeBytes: number | null;
  rssAfterBytes: number | null;
}

const run = promisify(execFile);

/** Asks the kernel to reclaim a bpftrace process's compiler pages (see sensor/native/pageout.c). */
export async function releaseCompilerPages(
  pid: number,
  helper = PAGEOUT_HELPER,
  procRoot = '/proc',
): Promise<PageoutResult> {
  let maps: string;
  try {
    maps = readFileSync(`${procRoot}/${pid}/maps`, 'utf8');
  } catch (cause) {
    throw new PageoutError(`cannot read the memory map of process ${pid}`, { cause });
  }
  const ranges = compilerRanges(maps);
  const rssBeforeBytes = readRssBytes(pid, procRoot);
  if (ranges.length === 0) return { ranges: 0, advisedBytes: 0, rssBeforeBytes, rssAfterBytes: rssBeforeBytes };
  let stdout: string;
  try {
    ({ stdout } = await run(helper, [String(pid), ...ranges], { timeout: 10_000 }));
  } catch (cause) {
    const err = cause as NodeJS.ErrnoException & { stderr?: string };
    const why =
      err.code === 'ENOENT'
        ? `${helper} is missing (built by scripts/bootstrap.sh with cc)`
        : err.stderr?.trim() || err.message;
    throw new PageoutError(`compiler pages of process ${pid} not released: ${why}`, { cause });
  }
  return {
    ranges: ranges.length,
    advisedBytes: Number(stdout.trim()),
    rssBeforeBytes,
    rssAfterBytes: readRssBytes(pid, procRoot),
  };
}

/**
 * Releases the compiler pages of each bpftrace that attaches (`onAttached`), logging the outcome and
 * keeping the total freed for the heartbeat's footprint.
 */
export function compilerReleaser(
  helper: string,
  log: Logger,
): { onAttached: (pid: number) => void; releasedBytes: () => number } {
  let released = 0;
  const onAttached = (pid: number) => {
    releaseCompilerPages(pid, helper).then(
      (r) => {
        released += Math.max(0, (r.rssBeforeBytes ?? 0) - (r.rssAfterBytes ?? 0));
        log.info(
          {
            'probe.pid': pid,
            'pageout.ranges': r.ranges,
            'pageout.rssBeforeBytes': r.rssBeforeBytes,
            'pageout.rssAfterBytes': r.rssAfterBytes,
          },
          'bpftrace compiler pages released',
        );
      },
      (err: Error) => {
        log.warn({ 'probe.pid': pid, err }, 'bpftrace compiler pages kept resident');
      },
    );
  };
  return { onAttached, releasedBytes: () => released };
}
