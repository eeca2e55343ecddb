import { defineDetection } from '../define.js';
import { domainMatches, exeOf, hostsIn, inWritablePlace, namesOf } from '../argv.js';
import { POOL_DOMAINS, STRATUM_URL } from '../indicators.js';
import { isTextTool, minerIndicators, shellOnlySearches } from './miner-signals.js';

/** A piece of a shell command that holds a miner indicator a search could be looking for. */
const holdsIndicator = (text: string): boolean =>
  STRATUM_URL.test(text) ||
  hostsIn(text).some((h) => domainMatches(h, POOL_DOMAINS)) ||
  minerIndicators(text.trim().split(/\s+/), new Set()).length > 0 ||
  /xmrig|minerd|cpuminer|ethminer|nbminer|lolminer|t-rex/i.test(text);

export const minerExec = defineDetection({
  id: 'miner.exec',
  title: 'Crypto miner started',
  severity: 'high',
  mitre: ['T1496'],
  on: ['exec'],
  description:
    'A miner by name, or any binary (renamed too) run with mining pool URLs, pool hosts or miner flags, also ' +
    'base64-coded. Text tools (grep, rg, find, cat, editors, git, journalctl) searching for these words are not miners.',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical with a stratum URL or pool host in argv, when renamed, or from a writable place',
  },
  match(ev) {
    if (ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    const exe = exeOf(ev);
    // A search for miner words is not a miner: the words count only for a program that would use them.
    if (isTextTool(exe, ev.proc)) return null;
    const names = namesOf(ev);
    if (shellOnlySearches(ev.exec.argv, names, holdsIndicator)) return null;
    const found = minerIndicators(ev.exec.argv, names);
    if (found.length === 0) return null;
    const renamed = !found.some((f) => f.startsWith('miner binary name'));
    const pool = found.some((f) => f.startsWith('mining pool'));
    const writable = inWritablePlace(exe) || ev.proc.exeInWritableDir === true || ev.proc.fileless === true;
    return {
      reason: `${exe} started with ${found.join('; ')}${renamed ? ' — the binary is not named like a miner (renamed?)' : ''}${writable ? '; it runs from a writable place' : ''}`,
      severity: renamed || writable || pool ? 'critical' : 'high',
    };
  },
});
