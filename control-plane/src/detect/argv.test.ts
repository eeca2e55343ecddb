import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exeOf, inWritablePlace, loadedProgram, namesOf } from './argv.js';
import { exec, fire } from './testing.js';

test('inWritablePlace: temp dirs and hidden dirs are, Python environment managers\' dirs are not', () => {
  for (const p of ['/tmp/x', '/dev/shm/.a/b', '/home/u/.config/xmrig/xmrig', '/var/lib/.x/kworker', '/home/u/.venv.d/bin/x', '/home/u/.cache/x', 'memfd:x (deleted)']) {
    assert.equal(inWritablePlace(p), true, p);
  }
  for (const p of ['/opt/torch/.venv/bin/python3', '/home/u/.conda/envs/train/bin/python', '/root/.pyenv/versions/3.11.7/bin/python3.11', '/home/u/.virtualenvs/t/bin/python', '/usr/bin/python3']) {
    assert.equal(inWritablePlace(p), false, p);
  }
});

test('loadedProgram: the program the dynamic loader runs, past its options', () => {
  const smi = ['/glibc/ld-linux-x86-64.so.2', '--inhibit-cache', '--library-path', '/glibc:/lib64', '/bin/nvidia-smi', '--query-gpu=index,uuid'];
  assert.equal(loadedProgram('/glibc/ld-linux-x86-64.so.2', smi), '/bin/nvidia-smi', 'as a real H100 host runs nvidia-smi');
  assert.equal(loadedProgram('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', ['ld.so', '--argv0', 'kworker', '/tmp/.x/m', '-o', 'pool:3333']), '/tmp/.x/m');
  assert.equal(loadedProgram('/lib/ld-musl-x86_64.so.1', ['ld', './xmrig']), './xmrig');
  assert.equal(loadedProgram('/lib64/ld-linux-x86-64.so.2', ['ld.so', '--list']), null, 'no program: the loader itself');
  assert.equal(loadedProgram('/usr/bin/python3', ['python3', 'x.py']), null);
  assert.equal(loadedProgram('/usr/bin/ld.gold', ['ld.gold', 'a.o']), null, 'the link editor is no loader');
});

test('exeOf and namesOf see through the loader: a miner run by ld.so is still the miner', () => {
  const ev = exec(['/lib64/ld-linux-x86-64.so.2', '/tmp/.x/xmrig', '-o', 'stratum+tcp://p:3333'], {}, '/lib64/ld-linux-x86-64.so.2');
  assert.equal(exeOf(ev), '/tmp/.x/xmrig');
  assert.ok(namesOf(ev).has('xmrig'));
  assert.deepEqual(fire(ev), ['miner.exec']);
});
