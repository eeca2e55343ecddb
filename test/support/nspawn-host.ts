/**
 * Test hosts: a debootstrapped Debian bookworm root with systemd, openssh-server and bpftrace, booted
 * by systemd-nspawn (PID 1 of this machine is not systemd; a booted container has its own). The root
 * is made once into /var/cache/vigil-test/bookworm-<hash of its package list> and shared read-only:
 * each host is an overlay on it, so a host's changes (what `vigil deploy` installs) are its own.
 *
 * Hosts share this machine's network namespace: each one's sshd listens on its own free loopback
 * port, and a sensor inside reaches the test's nats-server on 127.0.0.1. Their systemd-networkd and
 * resolved are masked, so they leave this machine's interfaces alone. bpftrace runs inside with all
 * capabilities, the bpf and perf_event_open system calls allowed, and the host's tracefs, debugfs,
 * bpffs and BTF bound in; it traces the whole kernel (every host's processes, with their pids in
 * this machine's namespace). The system calls are what it cannot do without: nspawn's own seccomp
 * filter refuses bpf(2) (bpftrace then reports a missing 'linux/types.h').
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from './harness.js';

export class TestHostError extends Error {
  override name = 'TestHostError';
}

export const ROOT_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'bpftrace',
  'iproute2',
  'procps',
  'netcat-openbsd',
  'ca-certificates',
];
const SUITE = 'bookworm';
const CACHE = '/var/cache/vigil-test';
const COMPLETE = '.vigil-root-complete';
const MASKED = [
  'ssh.socket',
  'systemd-networkd.service',
  'systemd-networkd.socket',
  'systemd-networkd-wait-online.service',
  'systemd-resolved.service',
  'console-getty.service',
];
const TRACING_MOUNTS = ['/sys/kernel/tracing', '/sys/kernel/debug', '/sys/fs/bpf'];

/** The Debian mirror this machine's apt uses (deb822 sources first, then sources.list). */
export function aptMirror(): string {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/m.exec(text);
    if (m?.[1] && !m[1].includes('security')) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0)
    throw new TestHostError(`${what} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').slice(-2000)}`);
  return r.stdout;
}

/** The cached root, made by debootstrap when missing. */
export function ensureRoot(): string {
  const hash = createHash('sha256').update(JSON.stringify({ SUITE, ROOT_PACKAGES, MASKED })).digest('hex').slice(0, 12);
  const root = join(CACHE, `${SUITE}-${hash}`);
  if (existsSync(join(root, COMPLETE))) return root;
  mkdirSync(CACHE, { recursive: true });
  const building = `${root}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  run(
    'debootstrap',
    ['--variant=minbase', `--include=${ROOT_PACKAGES.join(',')}`, SUITE, building, aptMirror()],
    'debootstrap',
  );
  // Each host takes its name from --machine, and sshd listens only where its host's config says.
  rmSync(join(building, 'etc', 'hostname'), { force: true });
  rmSync(join(building, 'etc', 'machine-id'), { force: true });
  for (const unit of MASKED) {
    const link = join(building, 'etc', 'systemd', 'system', unit);
    rmSync(link, { force: true });
    symlinkSync('/dev/null', link);
  }
  writeFileSync(join(building, COMPLETE), `${ROOT_PACKAGES.join(' ')}\n`);
  // Another test process may have finished one meanwhile, and booted hosts on it: keep that one.
  if (existsSync(join(root, COMPLETE))) {
    rmSync(building, { recursive: true, force: true });
    return root;
  }
  rmSync(root, { recursive: true, force: true });
  renameSync(building, root);
  return root;
}

export interface TestHost {
  name: string;
  sshPort: number;
  /** Runs a shell command on the host as root, over ssh; throws on a non-zero exit. */
  ssh(command: string, timeoutMs?: number): string;
  /** Like ssh(), returning the status instead of throwing. */
  sshStatus(command: string): { status: number | null; stdout: string; stderr: string };
  /** Lines for an ssh_config naming this host (for `ssh -F`). */
  sshConfig: string;
  console: string[];
  stop(): Promise<void>;
}

/** An ssh key pair for the hosts' root logins. */
export function testKey(dir: string): string {
  const key = join(dir, 'id_ed25519');
  if (!existsSync(key)) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], 'ssh-keygen');
  return key;
}

export const sshOptions = (key: string, port: number): string[] => [
  '-i',
  key,
  '-p',
  String(port),
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
];

/** Boots a host named `name` on an overlay of the cached root; resolves once root can ssh in. */
export async function startHost(name: string, key: string): Promise<TestHost> {
  const lower = ensureRoot();
  const dir = tempDir(`host-${name}`);
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => join(dir, d)) as [string, string, string];
  for (const d of [upper, work, merged]) mkdirSync(d);
  run(
    'mount',
    ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged],
    'mount',
  );
  const sshPort = await freePort();
  mkdirSync(join(merged, 'root', '.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(merged, 'root', '.ssh', 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 });
  writeFileSync(
    join(merged, 'etc', 'ssh', 'sshd_config.d', 'vigil-test.conf'),
    `Port ${sshPort}\nListenAddress 127.0.0.1\nPermitRootLogin prohibit-password\n`,
  );
  const binds = TRACING_MOUNTS.filter((p) => existsSync(p)).map((p) => `--bind=${p}`);
  const child: ChildProcess = spawn(
    'systemd-nspawn',
    [
      '-D',
      merged,
      '--boot',
      '--register=no',
      '--keep-unit',
      '--machine',
      name,
      '--capability=all',
      '--system-call-filter=bpf perf_event_open',
      ...binds,
      '--bind-ro=/sys/kernel/btf',
      '--console=pipe',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const consoleLines: string[] = [];
  child.stdout!.on('data', (d: Buffer) => consoleLines.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => consoleLines.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sshStatus = (command: string, timeoutMs = 120_000) => {
    const r = spawnSync('ssh', [...sshOptions(key, sshPort), 'root@127.0.0.1', command], {
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      // SIGTERM: nspawn shuts the container's systemd down in order.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    spawnSync('umount', [merged]);
  };
  process.on('exit', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    spawnSync('umount', ['-l', merged]);
  });
  await waitFor(
    `${name}'s sshd`,
    () =>
      child.exitCode === null && sshStatus('systemctl is-system-running --wait >/dev/null; true', 30_000).status === 0,
    120_000,
    500,
  ).catch(async (err: Error) => {
    await stop();
    throw new TestHostError(`${err.message}\n--- ${name} console ---\n${consoleLines.join('').slice(-3000)}`);
  });
  return {
    name,
    sshPort,
    console: consoleLines,
    sshStatus,
    ssh(command, timeoutMs) {
      const r = sshStatus(command, timeoutMs);
      if (r.status !== 0)
        throw new TestHostError(`ssh ${name} ${command} failed (${r.status}): ${(r.stderr || r.stdout).slice(-2000)}`);
      return r.stdout;
    },
    sshConfig: `Host ${name}\n  HostName 127.0.0.1\n  Port ${sshPort}\n  User root\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n`,
    stop,
  };
}
