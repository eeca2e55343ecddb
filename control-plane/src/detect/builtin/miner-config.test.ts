import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEngine, config, exec } from '../testing.js';
import type { EventV1 } from '@vigil/schema';

function raised(...events: EventV1[]): string[] {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => `${a.ruleId}:${a.severity}`);
}

const WALLET = `4${'A'.repeat(40)}${'b'.repeat(54)}`;
const WORKER = { pid: 6100, exe: '/opt/app/worker', comm: 'worker', argv: ['/opt/app/worker'] };

test('miner.config: a program started with no arguments and a config.json holding a stratum pool', () => {
  const { engine, alerts } = builtinEngine();
  engine.process([
    exec(['/opt/app/worker'], WORKER),
    config(
      '/opt/app/config.json',
      ['"url": "stratum+ssl://203.0.113.9:443"', `"user": "${WALLET}"`, '"tls": true'],
      WORKER,
    ),
  ]);
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId}:${a.severity}`),
    ['miner.config:critical'],
  );
  assert.match(
    alerts[0]!.reason,
    /\/opt\/app\/config\.json \(beside-exe\): line of interest 1 `"url": "stratum\+ssl:\/\/203\.0\.113\.9:443"`: stratum URL stratum\+ssl:\/\//,
  );
});

test('miner.config: a pool host, or a wallet as the pool user, without a stratum scheme', () => {
  assert.deepEqual(raised(config('/opt/app/config.json', ['"url": "gulf.moneroocean.stream:443"'], WORKER)), [
    'miner.config:critical',
  ]);
  assert.deepEqual(raised(config('/opt/app/c.json', ['"url": "203.0.113.9:443"', `"user": "${WALLET}"`], WORKER)), [
    'miner.config:critical',
  ]);
  assert.deepEqual(raised(config('/opt/app/c.json', ['"algo": "rx/0"'], WORKER)), ['miner.config:high']);
});

test('miner.config: ordinary configs raise nothing', () => {
  assert.deepEqual(
    raised(
      config(
        '/home/u/.ssh/config',
        ['Host bastion', 'ProxyJump jump.example.com', 'LocalForward 8888 localhost:8888'],
        {
          exe: '/usr/bin/ssh',
          comm: 'ssh',
        },
      ),
      config(
        '/etc/app/server.json',
        ['"url": "https://mlflow.internal:8080"', '"user": "alice"', '"algorithm": "grpo"'],
        WORKER,
      ),
    ),
    // The ssh config's LocalForward is context for tunnel.ssh-forward (low), not a miner's.
    ['tunnel.ssh-forward:low'],
  );
});

test('miner.config: a config minified onto one line, its pool user a wallet and its url a bare address', () => {
  const line = `{"pools": [{"url": "127.0.0.1:443", "user": "${WALLET}", "pass": <redacted>}]}`;
  assert.deepEqual(raised(config('/tmp/x/config.json', [line], WORKER)), ['miner.config:critical']);
  // Prose naming a user and a wallet-like word is no pool entry.
  assert.deepEqual(raised(config('/opt/app/c.json', [`"description": "send to user ${WALLET}"`], WORKER)), []);
});
