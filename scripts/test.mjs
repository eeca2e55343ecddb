// Runs every test with node's built-in runner: unit tests (beside their modules, in parallel), then
// integration and end-to-end tests (real nats-server, chDB and bpftrace; one file at a time, since
// they share the kernel's tracepoints and the machine's two cores). `node scripts/test.mjs unit` runs
// the unit tests alone.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const find = (dir, out = []) => {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
};

const unit = ['schema', 'sensor', 'control-plane', 'cli'].flatMap((w) => find(join(root, w, 'dist')));
const slow = [...find(join(root, 'test', 'dist', 'integration')), ...find(join(root, 'test', 'dist', 'e2e'))];
const only = process.argv[2];

const run = (files, extra) => {
  if (files.length === 0) return 0;
  const r = spawnSync(process.execPath, ['--test', ...extra, ...files], { stdio: 'inherit', cwd: root });
  return r.status ?? 1;
};

// Two at a time even on two cores: node's default (cores - 1) runs them one by one there, and most
// of a unit test's time is spent waiting on a child process or a timer, not on a core.
let status = run(unit, [`--test-concurrency=${Math.max(2, availableParallelism() - 1)}`]);
if (only !== 'unit') {
  if (process.getuid?.() !== 0) {
    console.error('integration and end-to-end tests need root (bpftrace, tracefs): run `npm test` as root');
    status = status || 1;
  } else {
    status = run(slow, ['--test-concurrency=1']) || status;
  }
}
process.exit(status);
