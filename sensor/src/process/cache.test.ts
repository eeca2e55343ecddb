import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessCache, capArgv } from './cache.js';
import { containerIdOf, jobOf } from './cgroup.js';
import { scratchDir } from '../testing/scratch-dir.js';

/** A fake /proc holding just what the cache reads. */
function fakeProc(procs: { pid: number; ppid: number; comm: string; argv: string[]; cgroup?: string }[]): string {
  const root = scratchDir('proc');
  writeFileSync(join(root, 'stat'), 'cpu 0\nbtime 1700000000\n');
  for (const p of procs) {
    const dir = join(root, String(p.pid));
    mkdirSync(dir);
    const rest = ['S', p.ppid, ...Array(17).fill(0), 500].join(' ');
    writeFileSync(join(dir, 'stat'), `${p.pid} (${p.comm}) ${rest} 0 0\n`);
    writeFileSync(join(dir, 'status'), `Name:\t${p.comm}\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n`);
    writeFileSync(join(dir, 'cmdline'), p.argv.map((a) => `${a}\0`).join(''));
    writeFileSync(join(dir, 'cgroup'), `0::${p.cgroup ?? '/user.slice'}\n`);
    symlinkSync(`/usr/bin/${p.comm}`, join(dir, 'exe'));
  }
  return root;
}

test('ancestry from a seeded /proc runs to pid 1, nearest first', () => {
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'systemd', argv: ['/sbin/init'] },
    {
      pid: 100,
      ppid: 1,
      comm: 'slurmstepd',
      argv: ['slurmstepd: [42.0]'],
      cgroup: '/system.slice/slurmstepd.scope/job_42/step_0',
    },
    {
      pid: 200,
      ppid: 100,
      comm: 'python3',
      argv: ['python3', 'train.py'],
      cgroup: '/system.slice/slurmstepd.scope/job_42/step_0',
    },
  ]);
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1, 100, 200]);
  const p = cache.describe(200);
  assert.deepEqual(
    p.ancestry.map((a) => a.comm),
    ['slurmstepd', 'systemd'],
  );
  assert.equal(p.ancestryTruncated, false);
  assert.equal(p.uid, 1000);
  assert.equal(p.job, 'slurm:42');
  assert.deepEqual(p.argv, ['python3', 'train.py']);
  assert.equal(p.startTs, (1700000000n * 1_000_000_000n + 5_000_000_000n).toString());
});

test('fork and exec keep short-lived processes resolvable; exit keeps them for a grace period', () => {
  let now = 0;
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'init', argv: ['init'] },
    { pid: 10, ppid: 1, comm: 'bash', argv: ['bash'] },
  ]);
  const cache = new ProcessCache({ procRoot: root, exitGraceMs: 1000, now: () => now });
  cache.seedFromProc([1, 10]);
  cache.onFork(10, 11, 5n, 7);
  cache.onExec({
    pid: 11,
    ppid: 10,
    uid: 0,
    gid: 0,
    comm: 'sh',
    filename: '/bin/sh',
    argv: ['sh', '-c', 'x'],
    argvTruncated: false,
    cgroupId: 7,
  });
  cache.onFork(11, 12, 6n, 7);
  assert.deepEqual(
    cache.describe(12).ancestry.map((a) => `${a.pid}:${a.comm}`),
    ['11:sh', '10:bash', '1:init'],
  );
  assert.deepEqual(cache.describe(12).argv, ['sh', '-c', 'x'], 'a forked child runs its parent image until it execs');
  cache.onExit(12);
  now = 500;
  cache.sweep();
  assert.equal(cache.describe(12).comm, 'sh');
  now = 5000;
  cache.sweep();
  assert.equal(cache.describe(12).ancestryTruncated, true, 'gone after the grace period');
});

test('an ancestry cycle or a long chain is bounded', () => {
  const root = fakeProc([{ pid: 1, ppid: 0, comm: 'init', argv: [] }]);
  const cache = new ProcessCache({ procRoot: root, maxAncestry: 3 });
  for (let pid = 2; pid < 10; pid++) cache.onFork(pid - 1, pid, 0n, 0);
  const p = cache.describe(9);
  assert.equal(p.ancestry.length, 3);
  assert.equal(p.ancestryTruncated, true);
  cache.onFork(20, 21, 0n, 0);
  cache.onFork(21, 20, 0n, 0);
  assert.ok(cache.describe(21).ancestry.length <= 3);
});

test('a configured depth keeps the nearest ancestors and flags the rest; 0 keeps none', () => {
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'systemd', argv: ['/sbin/init'] },
    { pid: 100, ppid: 1, comm: 'bash', argv: ['bash'] },
    { pid: 200, ppid: 100, comm: 'python3', argv: ['python3', 'train.py'] },
  ]);
  const one = new ProcessCache({ procRoot: root, maxAncestry: 1 });
  one.seedFromProc([1, 100, 200]);
  assert.deepEqual(
    one.describe(200).ancestry.map((a) => a.comm),
    ['bash'],
  );
  assert.equal(one.describe(200).ancestryTruncated, true);
  assert.deepEqual(
    one.describe(100).ancestry.map((a) => a.comm),
    ['systemd'],
  );
  assert.equal(one.describe(100).ancestryTruncated, false, 'the whole chain fits: nothing left out');
  const none = new ProcessCache({ procRoot: root, maxAncestry: 0 });
  none.seedFromProc([1, 100, 200]);
  assert.deepEqual(none.describe(200).ancestry, []);
  assert.equal(none.describe(200).ancestryTruncated, true);
  assert.deepEqual(none.describe(200).argv, ['python3', 'train.py'], 'the process itself is whole');
});

test('argv read from /proc is bounded and flagged', () => {
  assert.deepEqual(capArgv(['a', 'b']), { argv: ['a', 'b'], truncated: false });
  const many = capArgv(Array.from({ length: 100 }, (_, i) => String(i)));
  assert.equal(many.argv.length, 64);
  assert.equal(many.truncated, true);
  const big = capArgv(['x'.repeat(10_000)]);
  assert.equal(Buffer.byteLength(big.argv[0]!), 8192);
  assert.equal(big.truncated, true);
});

test('containers and jobs are read from cgroup paths', () => {
  const id = 'a'.repeat(64);
  assert.equal(containerIdOf(`/system.slice/docker-${id}.scope`), id);
  assert.equal(
    containerIdOf(
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-${id}.scope`,
    ),
    id,
  );
  assert.equal(containerIdOf('/user.slice/user-0.slice/session-1.scope'), null);
  assert.equal(jobOf('/slurm/uid_1000/job_777/step_batch/user/task_0'), 'slurm:777');
  assert.equal(
    jobOf(
      '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b4f5c3a_1c1d_4a8e_9e0f_0123456789ab.slice',
    ),
    'k8s-pod:0b4f5c3a-1c1d-4a8e-9e0f-0123456789ab',
  );
});

test('a fork read after the child exec (probes are separate streams) does not undo the exec', () => {
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'init', argv: ['init'] },
    { pid: 10, ppid: 1, comm: 'node', argv: ['node', 'x.js'] },
  ]);
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1, 10]);
  cache.onExec({
    pid: 11,
    ppid: 10,
    uid: 0,
    gid: 0,
    comm: 'nv-ioctl',
    filename: '/tmp/nv-ioctl',
    argv: ['/tmp/nv-ioctl'],
    argvTruncated: false,
    cgroupId: 1,
    ktime: 2000,
  });
  cache.onFork(10, 11, 1n, 1, 1000);
  const p = cache.describe(11);
  assert.equal(p.comm, 'nv-ioctl');
  assert.deepEqual(p.argv, ['/tmp/nv-ioctl']);
  assert.equal(p.ppid, 10);
  assert.equal(cache.describe(11, { comm: 'from-probe' }).comm, 'from-probe', "the probe's own comm wins");
});

test('siblings share their ancestors as objects; an ancestor that execs later keeps the image their births saw', () => {
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'init', argv: ['init'] },
    { pid: 10, ppid: 1, comm: 'bash', argv: ['bash'] },
  ]);
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1, 10]);
  cache.onFork(10, 11, 5n, 7);
  cache.onFork(10, 12, 6n, 7);
  const a = cache.describe(11);
  const b = cache.describe(12);
  assert.equal(a.ancestry[0], b.ancestry[0], 'one object for the shared parent');
  assert.equal(a.ancestry[1], b.ancestry[1]);
  cache.onExec({
    pid: 10,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: 'python3',
    filename: '/opt/vigil-test/python3',
    argv: ['python3', 'x.py'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 10,
    superseded: true,
  });
  assert.equal(cache.describe(11).ancestry[0], a.ancestry[0], 'born of bash, still shown as bash');
  cache.onFork(10, 13, 7n, 7, 20);
  assert.deepEqual(
    cache.describe(13).ancestry[0],
    { pid: 10, comm: 'python3', exe: '/opt/vigil-test/python3', argv: ['python3', 'x.py'] },
    'a child born after the exec sees the new image',
  );
});

/** A parent running /tmp/evil (pid 10, under init) that forks pid 11, then execs /bin/true. */
function evilParentForks(opts: { forkAfterExec?: boolean } = {}) {
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'init', argv: ['init'] },
    { pid: 9, ppid: 1, comm: 'bash', argv: ['bash'] },
  ]);
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1, 9]);
  cache.onFork(9, 10, 1n, 7, 100);
  cache.onExec({
    pid: 10,
    ppid: 9,
    uid: 1000,
    gid: 1000,
    comm: 'evil',
    filename: '/tmp/evil',
    argv: ['/tmp/evil', '--pool'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 200,
    superseded: true,
  });
  const exec = () =>
    cache.onExec({
      pid: 10,
      ppid: 9,
      uid: 1000,
      gid: 1000,
      comm: 'true',
      filename: '/opt/vigil-test/true',
      argv: ['true'],
      argvTruncated: false,
      cgroupId: 7,
      ktime: 400,
      superseded: true,
    });
  // Records applied in kernel order, or the fork read after the parent's later exec.
  if (opts.forkAfterExec) {
    exec();
    cache.onFork(10, 11, 2n, 7, 300);
  } else {
    cache.onFork(10, 11, 2n, 7, 300);
    exec();
  }
  return cache;
}

test("a parent that forks a child and then execs something harmless stays what it was in the child's ancestry", () => {
  const cache = evilParentForks();
  // The child execs the miner: its event's ancestry names the parent as it was at the child's birth.
  cache.onExec({
    pid: 11,
    ppid: 10,
    uid: 1000,
    gid: 1000,
    comm: 'xmrig',
    filename: '/tmp/xmrig',
    argv: ['xmrig'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 500,
    superseded: true,
  });
  const c = cache.describe(11);
  assert.equal(c.ancestry[0]?.exe, '/tmp/evil');
  assert.deepEqual(c.ancestry[0]?.argv, ['/tmp/evil', '--pool']);
  assert.deepEqual(
    c.ancestry.map((a) => a.pid),
    [10, 9, 1],
  );
  assert.equal(c.ancestryTruncated, false);
  assert.equal(cache.describe(10).exe, '/opt/vigil-test/true', 'the parent itself is shown as it is now');
  // A grandchild born later sees the child as it is, over the child's ancestry at its own birth.
  cache.onFork(11, 12, 3n, 7, 600);
  assert.deepEqual(
    cache.describe(12).ancestry.map((a) => a.exe),
    ['/tmp/xmrig', '/tmp/evil', '/usr/bin/bash', '/usr/bin/init'],
  );
});

test("a parent that exits (the child reparented to init) does not launder the child's ancestry", () => {
  const cache = evilParentForks();
  cache.onExit(10);
  cache.onExec({
    pid: 11,
    ppid: 1,
    uid: 1000,
    gid: 1000,
    comm: 'xmrig',
    filename: '/tmp/xmrig',
    argv: ['xmrig'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 500,
    superseded: true,
  });
  const c = cache.describe(11);
  assert.equal(c.ppid, 1, 'the parent it has now');
  assert.equal(c.ancestry[0]?.exe, '/tmp/evil', 'the parent it was born of');
});

test("a fork read after its parent's later exec still sees the parent as it was at the fork", () => {
  const cache = evilParentForks({ forkAfterExec: true });
  assert.equal(cache.describe(11).ancestry[0]?.exe, '/tmp/evil');
  assert.equal(cache.describe(10).exe, '/opt/vigil-test/true');
});

test('a process that forks and exits over and over keeps the nearest ancestors, bounded', () => {
  const root = fakeProc([{ pid: 1, ppid: 0, comm: 'init', argv: ['init'] }]);
  const cache = new ProcessCache({ procRoot: root, maxAncestry: 4 });
  for (let pid = 2; pid < 5000; pid++) {
    cache.onFork(pid - 1, pid, 0n, 0, pid);
    cache.onExit(pid - 1);
  }
  const p = cache.describe(4999);
  assert.deepEqual(
    p.ancestry.map((a) => a.pid),
    [4998, 4997, 4996, 4995],
  );
  assert.equal(p.ancestryTruncated, true);
});

test('over the bound, exited processes go before live ones, oldest first', () => {
  const root = fakeProc([]);
  const cache = new ProcessCache({ procRoot: root, maxEntries: 16 });
  for (let pid = 100; pid < 116; pid++) cache.onFork(1, pid, BigInt(pid), 7);
  cache.onExit(110);
  cache.onExit(105);
  cache.onExit(112);
  cache.onFork(1, 200, 200n, 7);
  const known = (pid: number) => !cache.describe(pid).ancestryTruncated || cache.describe(pid).ppid !== 0;
  assert.equal(cache.size, 15, 'an eighth of 16 went to make room');
  assert.deepEqual(
    [105, 110, 112].map(known),
    [false, false, true],
    'the first two exited in table order, not the third',
  );
  assert.ok([100, 101, 111, 115, 200].every(known), 'live processes stay');
});

test('a process whose parent exits is marked re-parented and keeps the chain it was born under', () => {
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'init', argv: ['init'] },
    { pid: 10, ppid: 1, comm: 'bash', argv: ['bash'] },
  ]);
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1, 10]);
  cache.onFork(10, 11, 5n, 7);
  cache.onExec({
    pid: 11,
    ppid: 10,
    uid: 0,
    gid: 0,
    comm: 'sleep',
    filename: '/bin/sleep',
    argv: ['sleep', '60'],
    argvTruncated: false,
    cgroupId: 7,
    superseded: true,
  });
  assert.equal(cache.describe(11).reparented, undefined, 'its parent is still there');
  cache.onExit(10);
  const p = cache.describe(11);
  assert.equal(p.reparented, true);
  assert.deepEqual(
    p.ancestry.map((a) => `${a.pid}:${a.comm}`),
    ['10:bash', '1:init'],
  );
  // An exec seen after the re-parenting names the new parent; the mark stays.
  cache.onFork(10, 12, 6n, 7);
  cache.onExec({
    pid: 12,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: 'sleep',
    filename: '/bin/sleep',
    argv: ['sleep'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 1,
    superseded: true,
  });
  assert.equal(cache.describe(12).reparented, true);
});

test("an exec of a descriptor path is named fileless, never resolved through the sensor's own /proc/self", () => {
  const root = fakeProc([{ pid: 1, ppid: 0, comm: 'init', argv: ['init'] }]);
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1]);
  cache.onFork(1, 20, 5n, 7);
  cache.onExec({
    pid: 20,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: '3',
    filename: '/proc/self/fd/3',
    argv: ['x'],
    argvTruncated: false,
    cgroupId: 7,
    superseded: true,
  });
  const p = cache.describe(20);
  assert.equal(p.fileless, true);
  assert.equal(p.exe, '/proc/self/fd/3');
  cache.onFork(20, 21, 6n, 7);
  assert.equal(cache.describe(21).fileless, true, "a child runs its parent's image until it execs");
  assert.equal(cache.describe(1).fileless, undefined);
});

test('a path exec read after a later memfd exec is not named after the memfd; a link into /proc/self is fileless', () => {
  const root = fakeProc([{ pid: 1, ppid: 0, comm: 'init', argv: ['init'] }]);
  mkdirSync(join(root, '30'));
  symlinkSync('/memfd:payload (deleted)', join(root, '30', 'exe'));
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1]);
  cache.onFork(1, 30, 5n, 7);
  cache.onExec({
    pid: 30,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: 'sh',
    filename: '/bin/sh',
    argv: ['sh'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 1,
  });
  assert.equal(cache.describe(30).fileless, undefined);
  assert.equal(cache.describe(30).exe, realpathSync('/bin/sh'));
  cache.onExec({
    pid: 30,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: '3',
    filename: '/proc/self/fd/3',
    argv: ['x'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 2,
  });
  assert.equal(cache.describe(30).memfdName, 'payload');
  assert.equal(cache.describe(30).exe, '/memfd:payload (deleted)');
  const link = join(scratchDir('fd-link'), 'run-me');
  symlinkSync('/proc/self/fd/0', link);
  cache.onFork(1, 31, 6n, 7);
  cache.onExec({
    pid: 31,
    ppid: 1,
    uid: 0,
    gid: 0,
    comm: 'run-me',
    filename: link,
    argv: ['run-me'],
    argvTruncated: false,
    cgroupId: 7,
    ktime: 3,
    superseded: true,
  });
  assert.equal(cache.describe(31).fileless, true);
  assert.equal(cache.describe(31).exe, link, "not the sensor's own stdin");
});

test('bornUnder finds what was born under a process after its start, re-parented or not, and alive', () => {
  const root = fakeProc([
    { pid: 1, ppid: 0, comm: 'init', argv: ['init'] },
    { pid: 10, ppid: 1, comm: 'bash', argv: ['bash'] },
  ]);
  const cache = new ProcessCache({ procRoot: root });
  cache.seedFromProc([1, 10]);
  // An earlier holder of pid 20 left a child (30), born before the present pid 20 started.
  cache.onFork(10, 20, 100n, 7);
  cache.onFork(20, 30, 110n, 7);
  cache.onExit(20);
  cache.onFork(10, 20, 200n, 7);
  // The present 20 double-forks: 21 forks 22 and exits, so 22 is re-parented to init.
  cache.onFork(20, 21, 210n, 7);
  cache.onFork(21, 22, 220n, 7);
  cache.onExit(21);
  cache.onFork(22, 23, 230n, 7);
  cache.onFork(10, 40, 240n, 7);
  const under = (pid: number, since: bigint) =>
    cache
      .bornUnder(pid, since)
      .map((p) => p.pid)
      .sort((a, b) => a - b);
  assert.deepEqual(under(20, 200n), [22, 23], 'not 21 (exited), 30 (born under the earlier 20), nor 40');
  assert.deepEqual(under(10, 0n), [20, 22, 23, 30, 40]);
});
