import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilerRanges, PageoutError, releaseCompilerPages } from './pageout.js';
import { scratchDir } from '../testing/scratch-dir.js';

/** /proc/PID/maps of bpftrace 0.17 (Debian bookworm) after attaching, recorded on this project's host. */
const MAPS = readFileSync(fileURLToPath(new URL('../../fixtures/bpftrace-0.17.maps', import.meta.url)), 'utf8');

test('compilerRanges picks the readable, read-only mappings of libLLVM and libclang and nothing else', () => {
  const picked = compilerRanges(MAPS);
  const lines = MAPS.split('\n').filter((l) => picked.includes(l.split(' ')[0]!));
  assert.equal(picked.length, 4);
  for (const l of lines) assert.match(l, /^\S+ r-[-x]p .*\/lib(LLVM-14\.so\.1|clang-14\.so\.14\.0\.6)$/);
  // Its writable data (relocated, anonymous once written) and its guard page stay.
  const rest = MAPS.split('\n').filter((l) => /LLVM|clang/.test(l) && !picked.includes(l.split(' ')[0]!));
  assert.deepEqual(rest.map((l) => l.split(/\s+/)[1]).sort(), ['---p', 'rw-p', 'rw-p']);
});

test('compilerRanges knows the other names distributions give LLVM and clang, and leaves look-alikes', () => {
  const line = (path: string) => `7f0000000000-7f0000001000 r-xp 00000000 fe:00 1 ${path}`;
  for (const path of [
    '/usr/lib/libLLVM.so.18.1',
    '/usr/lib64/libLLVM-17.so',
    '/usr/lib/x86_64-linux-gnu/libclang-cpp.so.16',
    '/usr/lib/libclang.so.13',
  ])
    assert.equal(compilerRanges(line(path)).length, 1, path);
  for (const path of [
    '/usr/lib/x86_64-linux-gnu/libz3.so.4',
    '/usr/bin/bpftrace',
    '/opt/libLLVM-14.so.1.bak',
    '[heap]',
    '',
  ])
    assert.equal(compilerRanges(line(path)).length, 0, path);
});

function fakeProc(pid: number, maps: string | null): string {
  const root = scratchDir('pageout');
  mkdirSync(join(root, String(pid)));
  if (maps !== null) writeFileSync(join(root, String(pid), 'maps'), maps);
  writeFileSync(join(root, String(pid), 'status'), 'Name:\tbpftrace\nVmRSS:\t   91808 kB\n');
  return root;
}

test('releaseCompilerPages says why when the helper is missing or the process is gone', async () => {
  const missing = '/nonexistent/vigil-pageout';
  await assert.rejects(
    releaseCompilerPages(4242, missing, fakeProc(4242, MAPS)),
    (err: Error) =>
      err instanceof PageoutError && /vigil-pageout is missing/.test(err.message) && err.cause !== undefined,
  );
  await assert.rejects(
    releaseCompilerPages(4243, missing, fakeProc(4242, null)),
    (err: Error) => err instanceof PageoutError && /memory map of process 4243/.test(err.message),
  );
});

test('releaseCompilerPages does not run the helper for a process without a compiler', async () => {
  const r = await releaseCompilerPages(
    4242,
    '/nonexistent/vigil-pageout',
    fakeProc(4242, '00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/bpftrace\n'),
  );
  assert.deepEqual(r, { ranges: 0, advisedBytes: 0, rssBeforeBytes: 91808 * 1024, rssAfterBytes: 91808 * 1024 });
});
