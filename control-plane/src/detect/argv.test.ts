import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  commandLine,
  domainMatches,
  eventCommandLine,
  eventHosts,
  exeOf,
  inWritablePlace,
  loadedProgram,
  namesOf,
} from './argv.js';
import { exec, fire } from './testing.js';

test("inWritablePlace: temp dirs and hidden dirs are, Python environment managers' dirs are not", () => {
  for (const p of [
    '/tmp/x',
    '/dev/shm/.a/b',
    '/home/u/.config/xmrig/xmrig',
    '/var/lib/.x/kworker',
    '/home/u/.venv.d/bin/x',
    '/home/u/.cache/x',
    'memfd:x (deleted)',
  ]) {
    assert.equal(inWritablePlace(p), true, p);
  }
  for (const p of [
    '/opt/torch/.venv/bin/python3',
    '/home/u/.conda/envs/train/bin/python',
    '/root/.pyenv/versions/3.11.7/bin/python3.11',
    '/home/u/.virtualenvs/t/bin/python',
    '/usr/bin/python3',
  ]) {
    assert.equal(inWritablePlace(p), false, p);
  }
});

test('loadedProgram: the program the dynamic loader runs, past its options', () => {
  const smi = [
    '/glibc/ld-linux-x86-64.so.2',
    '--inhibit-cache',
    '--library-path',
    '/glibc:/lib64',
    '/bin/nvidia-smi',
    '--query-gpu=index,uuid',
  ];
  assert.equal(
    loadedProgram('/glibc/ld-linux-x86-64.so.2', smi),
    '/bin/nvidia-smi',
    'as a real H100 host runs nvidia-smi',
  );
  assert.equal(
    loadedProgram('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', [
      'ld.so',
      '--argv0',
      'kworker',
      '/tmp/.x/m',
      '-o',
      'pool:3333',
    ]),
    '/tmp/.x/m',
  );
  assert.equal(loadedProgram('/lib/ld-musl-x86_64.so.1', ['ld', './xmrig']), './xmrig');
  assert.equal(
    loadedProgram('/lib64/ld-linux-x86-64.so.2', ['ld.so', '--list']),
    null,
    'no program: the loader itself',
  );
  assert.equal(loadedProgram('/usr/bin/python3', ['python3', 'x.py']), null);
  assert.equal(loadedProgram('/usr/bin/ld.gold', ['ld.gold', 'a.o']), null, 'the link editor is no loader');
});

test('exeOf and namesOf see through the loader: a miner run by ld.so is still the miner', () => {
  const ev = exec(
    ['/lib64/ld-linux-x86-64.so.2', '/tmp/.x/xmrig', '-o', 'stratum+tcp://p:3333'],
    {},
    '/lib64/ld-linux-x86-64.so.2',
  );
  assert.equal(exeOf(ev), '/tmp/.x/xmrig');
  assert.ok(namesOf(ev).has('xmrig'));
  assert.deepEqual(fire(ev), ['miner.exec']);
});

test('domainMatches: a host is the suffix or under it, at a dot; never merely ending in its text', () => {
  assert.equal(domainMatches('pool.supportxmr.com', ['minexmr.com', 'supportxmr.com']), 'supportxmr.com');
  assert.equal(domainMatches('supportxmr.com', ['supportxmr.com']), 'supportxmr.com');
  assert.equal(domainMatches('evilsupportxmr.com', ['supportxmr.com']), undefined);
  assert.equal(domainMatches('supportxmr.com.evil', ['supportxmr.com']), undefined);
  const label = fc.stringMatching(/^[a-z0-9-]{0,6}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
  fc.assert(
    fc.property(name, fc.array(name, { maxLength: 5 }), (host, suffixes) => {
      assert.equal(
        domainMatches(host, suffixes),
        suffixes.find((s) => host === s || host.endsWith(`.${s}`)),
      );
    }),
    { numRuns: 2000 },
  );
});

test('the answers kept per event are those of the event: one argv, one command line and host list; another argv, its own', () => {
  const argvA = ['xmrig', '-o', 'Pool.SupportXMR.com:3333'];
  const argvB = ['curl', 'https://example.org/x'];
  const a = exec(argvA);
  const b = exec(argvB);
  assert.equal(eventCommandLine(argvA), 'xmrig -o Pool.SupportXMR.com:3333');
  assert.deepEqual(eventHosts(argvA), ['pool.supportxmr.com']);
  assert.deepEqual(eventHosts(argvB), ['example.org']);
  assert.equal(namesOf(a), namesOf(a), 'computed once');
  assert.deepEqual([...namesOf(a)], ['xmrig']);
  assert.deepEqual([...namesOf(b)], ['curl']);
  // The public helper keeps nothing: an argv a user detection builds and changes reads as it is now.
  const built = ['ssh'];
  assert.equal(commandLine(built), 'ssh');
  built.push('-R', '2222:localhost:22');
  assert.equal(commandLine(built), 'ssh -R 2222:localhost:22');
});
