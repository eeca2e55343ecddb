import { realpath } from 'node:fs/promises';
import { KNOWN_TOOLS, TOOL_DIRS } from '@vigil/schema';
import type { ExeHasher } from './exe-identity.js';

export interface ReferenceTool {
  /** The installed path as looked up (`/usr/bin/nc`): the name the control plane learns the hash under. */
  path: string;
  /** The file it names after its symlinks (`/usr/bin/nc.openbsd`): what is hashed. */
  resolved: string;
}

/**
 * The host's own copies of the well-known tools: each name of KNOWN_TOOLS in each of TOOL_DIRS that
 * exists. A directory that is another's symlink (/bin -> usr/bin on a merged-/usr host) is looked in
 * once. The names come in reverse KNOWN_TOOLS order, so that where two names are one file
 * (nc -> nc.openbsd, sh -> dash) the name listed first is reported last, and the control plane, whose
 * tool table keeps the newest name per hash, knows the file by it.
 */
export async function findReferenceTools(
  dirs: readonly string[] = TOOL_DIRS,
  tools: readonly string[] = KNOWN_TOOLS,
): Promise<ReferenceTool[]> {
  const seenDirs = new Set<string>();
  const realDirs: string[] = [];
  for (const dir of dirs) {
    const real = await realpath(dir).catch(() => null);
    if (real === null || seenDirs.has(real)) continue;
    seenDirs.add(real);
    realDirs.push(dir);
  }
  const out: ReferenceTool[] = [];
  for (const tool of [...tools].reverse()) {
    for (const dir of realDirs) {
      const path = `${dir}/${tool}`;
      const resolved = await realpath(path).catch(() => null);
      if (resolved !== null) out.push({ path, resolved });
    }
  }
  return out;
}

/**
 * Queues a reference hash of each of the host's own tools on the hasher: the hasher's single worker,
 * size bound and cache apply, and the exec path never waits for it.
 */
export async function requestReferenceHashes(hasher: ExeHasher, dirs?: readonly string[]): Promise<number> {
  const found = await findReferenceTools(dirs);
  for (const t of found) hasher.requestReference(t.path, t.resolved);
  return found.length;
}
