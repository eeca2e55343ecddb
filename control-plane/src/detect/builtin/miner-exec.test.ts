import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEngine, exec } from '../testing.js';
import type { EventV1 } from '@vigil/schema';

/** Every built-in alert the events raise, as rule:severity. */
function raised(...events: EventV1[]): string[] {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => `${a.ruleId}:${a.severity}`);
}

test('miner.exec: RL flags are not miner flags (--algorithm grpo, --algo ppo, --algorithm=dpo)', () => {
  assert.deepEqual(raised(exec(['python3', 'train.py', '--algorithm', 'grpo', '--num-gpus', '8'])), []);
  assert.deepEqual(raised(exec(['python3', 'rl.py', '--algo', 'ppo', '-u', 'alice', '-o', 'ckpt:100'])), []);
  assert.deepEqual(raised(exec(['python3', '-m', 'trl', '--algorithm=dpo', '--user', 'bob'])), []);
  assert.deepEqual(raised(exec(['/opt/cuda/bin/app', '--cuda-devices', '0,1', '--no-cpu'])), []);
  // A mining algorithm with pool arguments still says miner, under --algorithm too.
  assert.deepEqual(raised(exec(['/srv/w/app', '--algorithm', 'kawpow', '-o', '10.0.0.5:4444'])), [
    'miner.exec:critical',
  ]);
});

test('miner.exec: searching for miner words with text tools raises nothing', () => {
  for (const argv of [
    ['grep', '-r', 'stratum+tcp://', '/etc'],
    ['grep', '-rn', 'pool.supportxmr.com', '/home'],
    ['rg', '--donate-level', '/var/log'],
    ['journalctl', '-g', 'stratum+tcp://|xmrig', '--since', 'today'],
    ['find', '/', '-name', 'xmrig*', '-o', '-name', '*.supportxmr.com'],
    ['cat', '/tmp/x/config.json', 'stratum+tcp://pool.minexmr.com:4444'],
    ['less', '/var/log/syslog', '+/moneroocean.stream'],
    ['vim', 'pools-c3pool.com.txt'],
    ['git', 'grep', '-n', 'stratum+ssl://', '--', 'detections/'],
    ['bash', '-c', 'grep -rl "stratum+tcp://" /home | sort | head'],
  ])
    assert.deepEqual(raised(exec(argv)), [], argv.join(' '));
  // A copy of a miner named like a text tool, outside the system directories, is no text tool.
  assert.deepEqual(raised(exec(['/tmp/grep', '-o', 'stratum+tcp://pool.minexmr.com:4444'])), ['miner.exec:critical']);
  // Nor is one written over /usr/bin/grep just before it ran.
  assert.deepEqual(
    raised(exec(['/usr/bin/grep', '--url', 'stratum+tcp://1.2.3.4:3333'], { exeRecentlyWritten: true })),
    ['miner.exec:critical'],
  );
  // Output fed to a shell is run, not searched.
  assert.deepEqual(raised(exec(['bash', '-c', 'grep -h stratum+tcp:// /tmp/a | sh'])), ['miner.exec:critical']);
});

test('miner.exec: "miner" alone is too generic a name (data-miner.py, miner.py, miner-utils)', () => {
  assert.deepEqual(raised(exec(['./miner.py', '--input', 'corpus/'], {}, '/usr/bin/python3.11')), []);
  assert.deepEqual(raised(exec(['/home/u/tools/miner-utils', 'index'])), []);
  assert.deepEqual(raised(exec(['./data-miner.py'], {}, '/usr/bin/python3.11')), []);
  assert.deepEqual(raised(exec(['xmrig'])), ['miner.exec:high']);
});

test('miner.exec: a stratum URL or pool host in argv ranks critical, a name alone high', () => {
  assert.deepEqual(raised(exec(['xmrig', '-o', 'stratum+tcp://10.0.0.5:3333'])), ['miner.exec:critical']);
  assert.deepEqual(raised(exec(['/usr/local/bin/xmrig', '-o', 'pool.supportxmr.com:443'])), ['miner.exec:critical']);
  assert.deepEqual(raised(exec(['/usr/local/bin/xmrig', '--config', '/etc/xmrig.json'])), ['miner.exec:high']);
});
