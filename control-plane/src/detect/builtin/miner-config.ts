import { defineDetection } from '../define.js';
import { basename, exeOf, hostsIn } from '../argv.js';
import { MINER_ALGOS, STRATUM_URL } from '../indicators.js';
import { isTextTool, poolDomain } from './miner-signals.js';

/** Wallet addresses as miners take them as the pool user: Monero (95/106 base58), Ethereum, Bitcoin bech32, Ravencoin. */
const WALLET =
  /\b(?:[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?|0x[0-9a-fA-F]{40}|bc1[02-9ac-hj-np-z]{38,58}|R[1-9A-HJ-NP-Za-km-z]{33})\b/;
/**
 * Keys of a pool entry in xmrig-style JSON, ini or toml configs: at the start of a line, or after a JSON
 * object's or array's delimiter (a config minified onto one line holds every key on it).
 */
const POOL_KEY = /(?:^|[{,[])\s*"?(?:url|pool|pools|server|host|stratum|user|wallet|algo|coin)"?\s*[:=]/i;

/** What in one config line says "pool": a stratum URL, a pool host, a wallet as the user, a mining algorithm. */
function lineSays(line: string): string | null {
  const url = STRATUM_URL.exec(line);
  if (url) return `stratum URL ${url[0]}`;
  const host = hostsIn(line).find((h) => poolDomain(h));
  if (host) return `pool host ${host}`;
  if (POOL_KEY.test(line) && WALLET.test(line)) return 'a wallet address as the pool user';
  const algo = /"?algo"?\s*[:=]\s*"?([\w/-]+)/i.exec(line)?.[1]?.toLowerCase();
  if (algo && MINER_ALGOS.includes(algo)) return `mining algorithm ${algo}`;
  return null;
}

/**
 * A program started with a configuration file that holds a mining pool: the miner started with no
 * arguments and a config.json beside it, whatever the binary is called.
 */
export const minerConfig = defineDetection({
  id: 'miner.config',
  title: 'Program started with a mining pool configuration',
  severity: 'critical',
  mitre: ['T1496'],
  on: ['config'],
  description:
    'A config file the process was started with (an argument, or beside a program started without arguments) holds ' +
    'a stratum URL, a pool host, or a pool entry whose user is a wallet address; a mining algorithm alone ranks high.',
  ranks: { min: 'high', max: 'critical', rule: 'high when the only pool sign is a mining algorithm' },
  match(ev) {
    const exe = exeOf(ev);
    if (isTextTool(exe, ev.proc)) return null;
    const hits: string[] = [];
    let strong = false;
    for (const [i, line] of ev.config.directives.entries()) {
      const says = lineSays(line);
      if (!says) continue;
      if (!says.startsWith('mining algorithm')) strong = true;
      hits.push(`line of interest ${i + 1} \`${line.slice(0, 120)}\`: ${says}`);
    }
    if (hits.length === 0) return null;
    return {
      reason: `${basename(exe) || ev.proc.comm} (pid ${ev.proc.pid}, ${exe}) was started with ${ev.config.path} (${ev.config.reason}): ${hits.slice(0, 4).join('; ')}`,
      severity: strong ? 'critical' : 'high',
    };
  },
});
