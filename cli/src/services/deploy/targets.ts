/**
 * Where `vigil deploy` goes: `HOST`, `USER@HOST`, `HOST:PORT` (or `[v6]:PORT`) as typed or read from a
 * hosts file (one a line, `#` comments). Anything else ssh reads from the user's ssh config.
 */
import { readFileSync } from 'node:fs';

export class TargetError extends Error {
  override name = 'TargetError';
}

export interface Target {
  /** As the user wrote it (the summary's key). */
  spec: string;
  /** What ssh connects to (user@host or an ssh config alias). */
  destination: string;
  port?: number;
}

// A destination that began with "-" would be an ssh option; whitespace and quotes, another argument.
const USER = '(?:[A-Za-z0-9._-]+@)?';
const NAME = new RegExp(`^${USER}[A-Za-z0-9][A-Za-z0-9._-]*$`);
const V6 = new RegExp(`^(${USER})\\[([0-9A-Fa-f:.]+)\\](?::(\\d{1,5}))?$`);
const WITH_PORT = /^([^:]+):(\d{1,5})$/;

export function parseTarget(spec: string): Target {
  const text = spec.trim();
  const v6 = V6.exec(text);
  const named = v6 ? null : WITH_PORT.exec(text);
  const destination = v6 ? `${v6[1]}${v6[2]}` : (named?.[1] ?? text);
  const portText = v6 ? v6[3] : named?.[2];
  const port = portText !== undefined ? Number(portText) : undefined;
  if ((!v6 && !NAME.test(destination)) || (port !== undefined && (port < 1 || port > 65535)))
    throw new TargetError(`"${spec}" is not a host: expected HOST, USER@HOST or HOST:PORT`);
  return { spec: text, destination, ...(port !== undefined ? { port } : {}) };
}

export function readHostsFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TargetError(`cannot read the hosts file ${path}: ${(cause as Error).message}`, { cause });
  }
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** The targets from arguments and a hosts file, each once. */
export function targetsFrom(args: string[], hostsFile?: string): Target[] {
  const specs = [...args, ...(hostsFile ? readHostsFile(hostsFile) : [])];
  if (!specs.length) throw new TargetError('name at least one host (HOST… or --hosts-file FILE)');
  return [...new Set(specs)].map(parseTarget);
}
