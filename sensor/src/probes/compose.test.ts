import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeProbes, ComposeError } from './compose.js';
import { DEFAULT_PROBES_DIR } from '../sensor.js';

const src = (name: string, args: string[] = []) => ({ name, text: readFileSync(join(DEFAULT_PROBES_DIR, `${name}.bt`), 'utf8'), args });

test('the four probes compose into one program: one BEGIN, one END, parameters filled in, every probe body kept', () => {
  const out = composeProbes([src('exec', ['50']), src('proc', ['50']), src('connect', ['5']), src('gpu', ['5', '195', '511', '240', '226', '0', '0', '0', '0'])]);
  assert.equal(out.match(/^BEGIN\b/gm)?.length, 1);
  assert.equal(out.match(/^END\b/gm)?.length, 1);
  assert.doesNotMatch(out, /\$\d/, 'no positional parameter left');
  assert.match(out, /@conn_ticks \/ 10 >= 5\)/);
  assert.match(out, /\(uint64\)\(50 \* 1000000\)/);
  assert.match(out, /\$maj == 195 \|\| \$maj == 511/);
  for (const probe of ['sys_exit_execveat', 'task_newtask', 'sys_exit_connect', 'sys_enter_ioctl']) assert.match(out, new RegExp(probe));
  for (const cleanup of ['clear(@exec_head0)', 'clear(@proc_fork0)', 'clear(@conn_seen)', 'clear(@gpu_seen)']) assert.ok(out.includes(cleanup), cleanup);
  // Braces balance (the cut blocks took their own braces with them).
  assert.equal(out.split('{').length, out.split('}').length);
});

test('a probe whose parameter has no argument, or whose BEGIN does more than the ready record, is refused', () => {
  assert.throws(() => composeProbes([src('connect', [])]), ComposeError);
  assert.throws(() => composeProbes([{ name: 'x', text: 'BEGIN { printf("hi"); }\n', args: [] }]), ComposeError);
  assert.throws(() => composeProbes([{ name: 'x', text: 'BEGIN { print((0, nsecs)); \n', args: [] }]), ComposeError);
});
