import type { EventV1, ProcessV1 } from '@vigil/schema';

import { KNOWN_TOOLS, TOOL_DIRS } from './indicators.js';

/** Paths remembered per host before the oldest go. */
const MAX_PATHS = 65_536;
/** Tool hashes per host: a few versions of each well-known tool. */
const MAX_TOOLS = 4096;

/** The tool an installed path is (`/usr/bin/ncat` → "ncat"); only system directories name tools. */
export function knownToolAt(path: string): string | undefined {
  const slash = path.lastIndexOf('/');
  if (slash < 0 || !TOOL_DIRS.includes(path.slice(0, slash))) return undefined;
  const name = path.slice(slash + 1);
  return KNOWN_TOOLS.includes(name) ? name : undefined;
}

/**
 * The SHA-256 of each executable path per host, from every event that carries one (the sensor's `exe`
 * events, and `proc.exeHash` on events built after it hashed the image). Lets a detection ask "is
 * this ssh?" of a process whose own events came before its hash did. A path's newest report wins:
 * the sensor reports a path again when its file changes.
 */
export class ExeHashes {
  private readonly byHost = new Map<string, Map<string, string>>();
  /** Per host, the hashes of well-known tools (from their installed paths) and which tool each is. */
  private readonly tools = new Map<string, Map<string, string>>();

  constructor(private readonly maxPaths = MAX_PATHS) {}

  observe(ev: EventV1): void {
    if (ev.kind === 'exe') {
      // A reference report names no process: only the tool table learns from it.
      if (!ev.exe.reference) this.put(ev.host, ev.exe.path, ev.exe.sha256);
      this.learnTool(ev.host, ev.exe.path, ev.exe.sha256);
    } else if (ev.proc.exeHash !== undefined && ev.proc.exe !== '') {
      this.put(ev.host, ev.proc.exe, ev.proc.exeHash);
      this.learnTool(ev.host, ev.proc.exe, ev.proc.exeHash);
    }
  }

  /**
   * Which well-known tool `proc` runs by content ("ssh", "socat", "bash", …), whatever its path is
   * called: known once the host's own copy was reported (a sensor's reference report or a run of it).
   */
  toolOf(host: string, proc: ProcessV1): string | undefined {
    const hash = this.of(host, proc);
    return hash === undefined ? undefined : this.tools.get(host)?.get(hash);
  }

  /** The hash of what `proc` runs: its own when its event carries one, else the last known for its path. */
  of(host: string, proc: ProcessV1): string | undefined {
    return proc.exeHash ?? this.byHost.get(host)?.get(proc.exe);
  }

  private learnTool(host: string, path: string, sha256: string): void {
    const tool = knownToolAt(path);
    if (!tool) return;
    let tools = this.tools.get(host);
    if (!tools) this.tools.set(host, (tools = new Map()));
    if (!tools.has(sha256) && tools.size >= MAX_TOOLS) return;
    tools.set(sha256, tool);
  }

  private put(host: string, path: string, sha256: string): void {
    let paths = this.byHost.get(host);
    if (!paths) this.byHost.set(host, (paths = new Map()));
    paths.delete(path);
    paths.set(path, sha256);
    if (paths.size > this.maxPaths) paths.delete(paths.keys().next().value!);
  }
}
