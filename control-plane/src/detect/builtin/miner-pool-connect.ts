import { defineDetection } from '../define.js';
import { argvOf, basename, exeOf, namesOf } from '../argv.js';
import { argvNamesPool, droppedHow, minerIndicators, poolPort } from './miner-signals.js';

export const minerPoolConnect = defineDetection({
  id: 'miner.pool-connect',
  title: 'Connection to a mining pool',
  severity: 'high',
  mitre: ['T1496'],
  on: ['connect'],
  description:
    'A connection from a process whose arguments name a pool (host or stratum URL), or to a pool port at a ' +
    'non-loopback peer when the process also looks like a miner, was flagged, or was dropped. A pool port alone never ' +
    'fires, and GPU use does not corroborate it (training uses GPUs).',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical when argv names the pool; high for a pool port with a miner-like, flagged or dropped process',
  },
  match(ev, ctx) {
    const { daddr, dport } = ev.connect;
    const who = `${basename(exeOf(ev)) || ev.proc.comm} (pid ${ev.proc.pid}) connected to ${daddr}:${dport}`;
    const named = argvNamesPool(ev);
    if (named) return { reason: `${who}: ${named}`, severity: 'critical' };
    if (!poolPort(daddr, dport)) return null;
    const why: string[] = [];
    if (minerIndicators(argvOf(ev), namesOf(ev)).length > 0) why.push('the process looks like a miner');
    if (ctx.flagged(ev.host, ev.proc.pid).has('miner.exec')) why.push('the process was flagged as a miner');
    const dropped = droppedHow(exeOf(ev), ev.proc);
    if (dropped) why.push(dropped);
    // A port alone is no pool (3333, 9999 serve many things): something about the process must say miner.
    if (why.length === 0) return null;
    return { reason: `${who}: port ${dport} is a common pool port; ${why.join('; ')}`, severity: 'high' };
  },
});
