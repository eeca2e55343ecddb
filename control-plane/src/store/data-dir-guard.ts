import { statSync } from 'node:fs';
import { join } from 'node:path';

/** The folders the embedded engine keeps its tables in, under its data directory. */
const ENGINE_DIRS = ['metadata', 'store', 'data'];

/**
 * Whether the embedded engine's data directory is still the one it opened. Deleted (or swapped) under
 * a running engine, inserts still succeed into files no longer reachable by any name: reads fail, and
 * after a restart everything stored since is gone. Checked after each insert, before its messages are
 * acked (a stat per folder), so what is not really stored stays in the stream.
 */
export class DataDirGuard {
  private readonly identities = new Map<string, string>();

  constructor(private readonly dir: string) {
    this.remember(dir);
  }

  /** Null while the directory and the engine's folders in it are those first seen; else what is wrong. */
  problem(): string | null {
    // The engine's folders appear with its first tables: remembered on the first check that finds them.
    for (const sub of ENGINE_DIRS) if (!this.identities.has(join(this.dir, sub))) this.remember(join(this.dir, sub));
    for (const [path, id] of this.identities) {
      const now = identity(path);
      if (now === null)
        return `the data directory ${this.dir} lost ${path} (deleted?): inserts are not kept; nothing is acked, events wait in JetStream until the control plane restarts on a sound directory`;
      if (now !== id)
        return `${path} in the data directory ${this.dir} was replaced: the engine writes where no name reaches; nothing is acked, events wait in JetStream until the control plane restarts`;
    }
    return null;
  }

  private remember(path: string): void {
    const id = identity(path);
    if (id !== null) this.identities.set(path, id);
  }
}

function identity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}
