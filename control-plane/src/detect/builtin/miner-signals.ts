import type { EventV1, ProcessV1 } from '@vigil/schema';
import {
  argvOf,
  base64Payloads,
  basename,
  domainMatches,
  eventCommandLine,
  eventHosts,
  exeOf,
  hostsIn,
  inWritablePlace,
} from '../argv.js';
import {
  MINER_ALGOS,
  MINER_BASE64_FRAGMENTS,
  MINER_NAMES,
  MINER_STRONG_FLAGS,
  POOL_DOMAINS,
  POOL_PORTS,
  SHELLS,
  STRATUM_URL,
  TEXT_TOOLS,
  TOOL_DIRS,
} from '../indicators.js';

/** What in an argv says "miner"; empty when nothing does. */
export function minerIndicators(argv: string[], names: ReadonlySet<string>): string[] {
  const found: string[] = [];
  const name = [...names].find((n) =>
    MINER_NAMES.some((m) => n === m || n.startsWith(`${m}-`) || n.startsWith(`${m}.`)),
  );
  if (name) found.push(`miner binary name "${name}"`);
  const texts = [eventCommandLine(argv), ...base64Payloads(argv)];
  const decoded = texts.length > 1;
  for (const [i, text] of texts.entries()) {
    const where = i === 0 ? '' : ' (base64-encoded)';
    const url = STRATUM_URL.exec(text);
    if (url) found.push(`mining pool URL scheme ${url[0]}${where}`);
    const pool = (i === 0 ? eventHosts(argv) : hostsIn(text)).find((h) => domainMatches(h, POOL_DOMAINS));
    if (pool) found.push(`mining pool host ${pool}${where}`);
    const strong = MINER_STRONG_FLAGS.filter((f) => text.includes(f));
    if (strong.length) found.push(`miner flags ${strong.join(', ')}${where}`);
  }
  if (!decoded && MINER_BASE64_FRAGMENTS.some((f) => texts[0]!.includes(f))) found.push('base64 of miner arguments');
  // Weak alone, telling together: a mining algorithm (not `--algorithm grpo`) with -o host:port or -u wallet.
  const algoAt = argv.findIndex(
    (a, i) => ['-a', '--algo', '--algorithm'].includes(a) && MINER_ALGOS.includes((argv[i + 1] ?? '').toLowerCase()),
  );
  const algoEq = argv
    .map((a) => /^--algo(?:rithm)?=(.+)$/.exec(a)?.[1]?.toLowerCase())
    .find((a) => a !== undefined && MINER_ALGOS.includes(a));
  const url = argv.some(
    (a, i) =>
      (a === '-o' || a === '--url' || a === '-P' || a === '--pool' || a === '-s' || a === '--server') &&
      /[\w.-]+:\d{2,5}/.test(argv[i + 1] ?? ''),
  );
  const user = argv.some(
    (a) => a === '-u' || a === '--user' || a.startsWith('--user=') || a === '-w' || a === '--worker',
  );
  if ((algoAt >= 0 || algoEq) && (url || user))
    found.push(`mining algorithm ${algoEq ?? argv[algoAt + 1]} with pool/user arguments`);
  if (names.has('modprobe') && argv.includes('msr') && argv.some((a) => a === 'allow_writes=on'))
    found.push('modprobe msr allow_writes=on (RandomX MSR tuning)');
  return found;
}

/**
 * An installed text tool (grep, rg, find, cat, an editor, git, journalctl, dig…): miner words in its
 * arguments are what it looks for. Installed means in a system directory and not just written: a
 * miner copied to /tmp/grep, or over /usr/bin/grep, is no text tool.
 */
export function isTextTool(exe: string, proc: ProcessV1): boolean {
  const slash = exe.lastIndexOf('/');
  if (slash < 0 || !TOOL_DIRS.includes(exe.slice(0, slash))) return false;
  if (proc.exeRecentlyWritten || proc.fileless) return false;
  return TEXT_TOOLS.includes(exe.slice(slash + 1));
}

/**
 * The command a shell runs with -c, when every piece of it that holds `hit` starts with a text tool
 * (`bash -c 'grep -r stratum+tcp /etc | less'`): then the shell only searches.
 */
export function shellOnlySearches(argv: readonly string[], names: ReadonlySet<string>, hit: (s: string) => boolean) {
  if (![...names].some((n) => SHELLS.includes(n))) return false;
  const at = argv.indexOf('-c');
  if (at < 0 || at + 1 >= argv.length) return false;
  const command = argv[at + 1]!;
  // Output fed to a shell or eval is run, not searched.
  if (/\|\s*(?:\S*\/)?(?:ba|da|z|k)?sh\b|\beval\b|\bsource\b/.test(command)) return false;
  const pieces = command.split(/[|;&\n]+|\$\(|`/).filter((p) => hit(p));
  return (
    pieces.length > 0 &&
    pieces.every((p) => {
      const word = p.trim().split(/\s+/)[0] ?? '';
      return TEXT_TOOLS.includes(basename(word));
    })
  );
}

/** The process's argv names a pool (a pool host or a stratum URL): strong at any port. */
export function argvNamesPool(ev: EventV1): string | null {
  const argv = argvOf(ev);
  if (isTextTool(exeOf(ev), ev.proc)) return null;
  const pool = eventHosts(argv).find((h) => domainMatches(h, POOL_DOMAINS));
  if (pool) return `its arguments name the pool host ${pool}`;
  const url = STRATUM_URL.exec(eventCommandLine(argv));
  if (url) return `its arguments hold a stratum URL (${url[0]})`;
  return null;
}

/** Loopback peers are never elsewhere: no pool is on 127.0.0.0/8, ::1 or a v4-mapped loopback. */
export const isLoopback = (addr: string): boolean =>
  /^127\./.test(addr) || addr === '::1' || /^::ffff:127\./i.test(addr) || addr === 'localhost';

/** A port pools commonly use, at a peer that could be a pool (not loopback). */
export const poolPort = (addr: string, port: number): boolean => !isLoopback(addr) && POOL_PORTS.includes(port);

/** The pool domain a DNS name is under, if any. */
export const poolDomain = (name: string | null | undefined): string | undefined =>
  name ? domainMatches(name.toLowerCase().replace(/\.$/, ''), POOL_DOMAINS) : undefined;

/** How the process's executable got there, when the sensor saw it dropped, in a writable place or fileless. */
export function droppedHow(exe: string, proc: ProcessV1): string | null {
  if (proc.fileless || /^\/memfd:| \(deleted\)$/.test(exe))
    return `it runs fileless${proc.memfdName ? ` (memfd "${proc.memfdName}")` : ''}`;
  const how = [
    proc.exeRecentlyWritten ? 'its file was written just before it ran' : null,
    proc.exeInWritableDir || inWritablePlace(exe) ? 'it runs from a writable place' : null,
  ].filter(Boolean);
  return how.length ? how.join(' and ') : null;
}
