import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeProbes, ComposeError, standaloneProbe } from './compose.js';
import { DEFAULT_PROBES_DIR } from '../sensor.js';

const src = (name: string, args: string[] = []) => ({
  name,
  text: readFileSync(join(DEFAULT_PROBES_DIR, `${name}.bt`), 'utf8'),
  args,
});

test('the four probes compose into one program: one BEGIN, one END, parameters filled in, every probe body kept', () => {
  const out = composeProbes([
    src('exec', ['50']),
    src('proc', ['50']),
    src('connect', ['5']),
    src('gpu', ['5', '195', '511', '240', '226', '0', '0', '0', '0']),
  ]);
  assert.equal(out.match(/^BEGIN\b/gm)?.length, 1);
  assert.equal(out.match(/^END\b/gm)?.length, 1);
  assert.doesNotMatch(out, /\$\d/, 'no positional parameter left');
  assert.match(out, /@connect_ticks \/ 10 >= 5\)/);
  assert.match(out, /\(uint64\)\(50 \* 1000000\)/);
  assert.match(out, /\$maj == 195 \|\| \$maj == 511/);
  for (const probe of ['sys_exit_execveat', 'task_newtask', 'sys_exit_connect', 'sys_enter_ioctl'])
    assert.match(out, new RegExp(probe));
  for (const cleanup of ['clear(@exec_head0)', 'clear(@proc_fork0)', 'clear(@connect_seen)', 'clear(@gpu_seen)'])
    assert.ok(out.includes(cleanup), cleanup);
  // Braces balance (the cut blocks took their own braces with them).
  assert.equal(out.split('{').length, out.split('}').length);
});

test('a probe whose parameter has no argument, or whose BEGIN does more than the ready record, is refused', () => {
  assert.throws(() => composeProbes([src('connect', [])]), ComposeError);
  assert.throws(() => composeProbes([{ name: 'x', text: 'BEGIN { printf("hi"); }\n', args: [] }]), ComposeError);
  assert.throws(() => composeProbes([{ name: 'x', text: 'BEGIN { print((0, nsecs)); \n', args: [] }]), ComposeError);
});

test('the prelude (ready record, wake on a stop signal) is in a composed program once, and in a probe run alone', () => {
  const out = composeProbes([
    src('exec', ['50']),
    src('proc', ['50']),
    src('connect', ['5']),
    src('gpu', ['5', '195', '511', '240', '226', '0', '0', '0', '0']),
  ]);
  assert.equal(out.match(/^tracepoint:signal:signal_generate$/gm)?.length, 1);
  assert.equal(out.match(/print\(\(0, nsecs\)\)/g)?.length, 1);
  for (const name of ['exec', 'proc', 'connect', 'gpu']) {
    const { text } = src(name);
    assert.doesNotMatch(text, /^BEGIN\b|signal_generate/m, `probes/${name}.bt leaves the prelude to composition`);
    const alone = standaloneProbe({ name, text });
    assert.equal(alone.match(/^BEGIN\b/gm)?.length, 1);
    assert.equal(alone.match(/^tracepoint:signal:signal_generate$/gm)?.length, 1);
    assert.ok(alone.endsWith(text), 'the probe file follows the prelude unchanged');
  }
  assert.throws(() => standaloneProbe({ name: 'x', text: 'BEGIN { print((0, nsecs)); }\n' }), ComposeError);
});

test('the connect probe names its maps after itself', () => {
  const maps = new Set([...src('connect').text.matchAll(/@(\w+)/g)].map((m) => m[1]!));
  for (const m of maps) assert.match(m, /^(connect_|exec_mark_wanted$|proc_mark_wanted$)/, `@${m}`);
});
