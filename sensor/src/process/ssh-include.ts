import { readdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';

/*
 * ssh_config(5)'s `Include`: the files an ssh config pulls in, so a forward hidden one file away from
 * the config ssh was started with (`-F main.conf` holding only `Include conf.d/*.conf`) is read too.
 */

/** An `Include` line of interest (the key is matched case-insensitively, as ssh does). */
const INCLUDE = /^include\s+(.+)$/i;
/** Files one `Include` pattern may expand to; the reader's per-process bound applies after. */
const MAX_MATCHES = 16;

const globRe = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/**
 * The files an ssh config's Include lines name, in ssh's order: `~/` is the user's home, a relative
 * path is under ~/.ssh for a user config and /etc/ssh for the system one, and `*`/`?` in the last
 * component are expanded (sorted, as glob(3) does; dot files only when the pattern starts with a dot).
 */
export async function sshIncludes(directives: readonly string[], from: string, home?: string): Promise<string[]> {
  const system = from.startsWith('/etc/ssh/');
  const base = system ? '/etc/ssh' : home !== undefined && isAbsolute(home) ? resolve(home, '.ssh') : undefined;
  const out: string[] = [];
  for (const line of directives) {
    const m = INCLUDE.exec(line.trim());
    if (!m) continue;
    for (const token of m[1]!.split(/\s+/).map((t) => t.replace(/^["']|["']$/g, ''))) {
      let path = token;
      if (path.startsWith('~/')) {
        if (home === undefined || !isAbsolute(home)) continue;
        path = resolve(home, path.slice(2));
      } else if (!isAbsolute(path)) {
        if (base === undefined) continue;
        path = resolve(base, path);
      }
      const last = basename(path);
      if (!/[*?]/.test(last) || /[*?]/.test(dirname(path))) {
        if (!/[*?]/.test(path)) out.push(path);
        continue;
      }
      const names = await readdir(dirname(path)).catch(() => [] as string[]);
      const re = globRe(last);
      out.push(
        ...names
          .filter((n) => re.test(n) && (last.startsWith('.') || !n.startsWith('.')))
          .sort()
          .slice(0, MAX_MATCHES)
          .map((n) => resolve(dirname(path), n)),
      );
    }
  }
  return out;
}
