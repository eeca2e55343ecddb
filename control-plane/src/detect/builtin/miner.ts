import { defineDetection } from '../define.js';
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
  namesOf,
} from '../argv.js';
import {
  MINER_ALGOS,
  MINER_BASE64_FRAGMENTS,
  MINER_NAMES,
  MINER_STRONG_FLAGS,
  POOL_DOMAINS,
  POOL_PORTS,
  STRATUM_URL,
} from '../indicators.js';
import type { EventV1 } from '@vigil/schema';

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
  // Weak alone, telling together: -a <algo> with -o host:port or -u wallet.
  const algo = argv.findIndex(
    (a, i) => (a === '-a' || a === '--algo') && MINER_ALGOS.includes((argv[i + 1] ?? '').toLowerCase()),
  );
  const algoEq = argv.find((a) => /^--algo=/.test(a) && MINER_ALGOS.includes(a.slice(7).toLowerCase()));
  const url = argv.some(
    (a, i) =>
      (a === '-o' || a === '--url' || a === '-P' || a === '--pool' || a === '-s' || a === '--server') &&
      /[\w.-]+:\d{2,5}/.test(argv[i + 1] ?? ''),
  );
  const user = argv.some(
    (a) => a === '-u' || a === '--user' || a.startsWith('--user=') || a === '-w' || a === '--worker',
  );
  if ((algo >= 0 || algoEq) && (url || user))
    found.push(`mining algorithm ${algoEq?.slice(7) ?? argv[algo + 1]} with pool/user arguments`);
  if (names.has('modprobe') && argv.includes('msr') && argv.some((a) => a === 'allow_writes=on'))
    found.push('modprobe msr allow_writes=on (RandomX MSR tuning)');
  return found;
}

export const minerExec = defineDetection({
  id: 'miner.exec',
  title: 'Crypto miner started',
  severity: 'high',
  mitre: ['T1496'],
  on: ['exec'],
  description:
    'A miner by name, or any binary (renamed too) run with mining pool URLs, pool hosts or miner flags, also base64-coded.',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical when the binary is not named like a miner (renamed) or runs from a writable place',
  },
  match(ev) {
    if (ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    const found = minerIndicators(ev.exec.argv, namesOf(ev));
    if (found.length === 0) return null;
    const renamed = !found.some((f) => f.startsWith('miner binary name'));
    const exe = exeOf(ev);
    return {
      reason: `${exe} started with ${found.join('; ')}${renamed ? ' — the binary is not named like a miner (renamed?)' : ''}${inWritablePlace(exe) ? `; it runs from a writable place` : ''}`,
      severity: renamed || inWritablePlace(exe) ? 'critical' : 'high',
    };
  },
});

const isPoolPort = (port: number) => POOL_PORTS.includes(port);

/** The connecting process's argv names a pool (a pool host or a stratum URL): strong at any port. */
function argvNamesPool(ev: EventV1): string | null {
  const argv = argvOf(ev);
  const pool = eventHosts(argv).find((h) => domainMatches(h, POOL_DOMAINS));
  if (pool) return `its arguments name the pool host ${pool}`;
  if (STRATUM_URL.test(eventCommandLine(argv))) return 'its arguments hold a stratum URL';
  return null;
}

export const minerPoolConnect = defineDetection({
  id: 'miner.pool-connect',
  title: 'Connection to a mining pool',
  severity: 'high',
  mitre: ['T1496'],
  on: ['connect'],
  description: 'A connection to a pool port or pool host, corroborated: a port alone is weak (8080 is everywhere).',
  match(ev, ctx) {
    const { daddr, dport } = ev.connect;
    const why: string[] = [];
    const named = argvNamesPool(ev);
    if (named) why.push(named);
    // A pool port alone is weak (8080 is everywhere): it needs something else about the process.
    if (isPoolPort(dport)) {
      const names = namesOf(ev);
      if (minerIndicators(argvOf(ev), names).length > 0) why.push('the process looks like a miner');
      if (ctx.flagged(ev.host, ev.proc.pid).has('miner.exec')) why.push('the process was flagged as a miner');
      if (inWritablePlace(exeOf(ev))) why.push(`${exeOf(ev)} runs from a writable place`);
      if (ctx.recent(ev.host, ev.proc.pid).some((e) => e.kind === 'gpu')) why.push('the process also uses the GPU');
      if (why.length === 0) return null;
      why.unshift(`port ${dport} is a common pool port`);
    } else if (!named) {
      return null;
    }
    return {
      reason: `${basename(exeOf(ev)) || ev.proc.comm} (pid ${ev.proc.pid}) connected to ${daddr}:${dport}: ${why.join('; ')}`,
    };
  },
});
