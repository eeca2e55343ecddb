/**
 * `vigil deploy`: each target through its steps, a few at a time; a target that fails stops at its
 * step and the others go on. Install: probe (root, arch, hostname) → deps (bpftrace, BTF, systemd) →
 * copy → unpack (new version dir, `current` and `previous` links) → env (/etc/vigil/sensor.env) →
 * service (unit installed, enabled, restarted) → heartbeat (the control plane has heard from the
 * host since the deploy began). Uninstall: stop and remove all of it.
 */
import { hostIdFrom, type StatusReport } from '@vigil/schema';
import { fetchStatus, type ApiTarget } from '../api-client.js';
import { type Credentials, hostTlsFiles, sensorEnv } from './credentials.js';
import {
  copyCommand,
  depsScript,
  envScript,
  probeScript,
  serviceScript,
  uninstallScript,
  unpackScript,
} from './scripts.js';
import { remote, type SshSettings } from './ssh.js';
import type { Target } from './targets.js';

export class DeployStepError extends Error {
  override name = 'DeployStepError';
}

export const INSTALL_STEPS = ['probe', 'deps', 'copy', 'unpack', 'env', 'service', 'heartbeat'] as const;
export const UNINSTALL_STEPS = ['probe', 'uninstall'] as const;
export type Step = (typeof INSTALL_STEPS)[number] | (typeof UNINSTALL_STEPS)[number];

const STEP_SAYS: Record<Step, string> = {
  probe: 'log in over ssh as root; read the architecture and hostname (the host id)',
  deps: 'check bpftrace, BTF (/sys/kernel/btf/vmlinux) and systemd',
  copy: 'copy the bundle to /opt/vigil/.incoming.tar.gz',
  unpack: 'unpack to /opt/vigil/<version>; /opt/vigil/current -> it; keep the version before as previous',
  env: 'write /etc/vigil/sensor.env (0600)',
  service: 'install, enable and restart vigil-sensor.service',
  heartbeat: "wait for the host's heartbeat, of this version, at the control plane",
  uninstall:
    'stop and disable vigil-sensor.service; remove it, /opt/vigil, /etc/vigil (what deploy and enrollment wrote), /var/lib/vigil',
};

export interface DeploySettings {
  ssh: SshSettings;
  uninstall: boolean;
  bundle?: { path: string; version: string };
  natsUrl?: string;
  credentials?: Credentials;
  installDeps: boolean;
  api: ApiTarget;
  heartbeatTimeoutMs: number;
  parallel: number;
  progress: (target: Target, step: Step | 'ok', detail?: string) => void;
}

export interface HostOutcome {
  target: string;
  host: string | null;
  ok: boolean;
  /** The step it failed at, or the last one (ok). */
  step: Step;
  error?: string;
}

/** The plan: per target, its steps and what each does (`--dry-run`). */
export function plan(targets: Target[], uninstall: boolean, version?: string): string[] {
  const steps = uninstall ? UNINSTALL_STEPS : INSTALL_STEPS;
  return targets.flatMap((t) => [
    `${t.spec}: ${uninstall ? 'uninstall' : `install vigil-sensor ${version}`}`,
    ...steps.map((s, i) => `  ${i + 1}. ${s}: ${STEP_SAYS[s]}`),
  ]);
}

/** Waits for a heartbeat of the deployed version received since `sinceNs` (not the old sensor's last one). */
async function heartbeatSince(
  api: ApiTarget,
  host: string,
  version: string,
  sinceNs: bigint,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const s: StatusReport = await fetchStatus(api);
      const hb = s.sensors.find((x) => x.host === host);
      if (hb && BigInt(hb.receivedTs) > sinceNs && hb.sensorVersion === version) return;
      last = !hb
        ? 'no heartbeat from it yet'
        : BigInt(hb.receivedTs) > sinceNs
          ? `its heartbeats say version ${hb.sensorVersion}`
          : 'its last heartbeat is from before this deploy';
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new DeployStepError(`no heartbeat from host id ${host} within ${timeoutMs / 1000} s (${last})`);
}

async function deployOne(t: Target, s: DeploySettings): Promise<HostOutcome> {
  let step: Step = 'probe';
  let host: string | null = null;
  const at = (next: Step) => {
    step = next;
    s.progress(t, next);
  };
  try {
    at('probe');
    const facts = Object.fromEntries(
      (await remote(t, s.ssh, probeScript, { timeoutMs: 60_000 }))
        .split('\n')
        .map((l) => l.split('=', 2) as [string, string])
        .filter((kv) => kv.length === 2),
    );
    host = hostIdFrom(facts.hostname ?? '');
    if (!s.uninstall && facts.arch !== 'x86_64')
      throw new DeployStepError(`the bundle is for x86_64; the host is ${facts.arch}`);
    if (s.uninstall) {
      at('uninstall');
      await remote(t, s.ssh, uninstallScript);
      return { target: t.spec, host, ok: true, step };
    }
    const bundle = s.bundle!;
    at('deps');
    await remote(t, s.ssh, depsScript(s.installDeps), { timeoutMs: 600_000 });
    at('copy');
    await remote(t, s.ssh, copyCommand, { stdinFile: bundle.path });
    at('unpack');
    await remote(t, s.ssh, unpackScript(bundle.version));
    at('env');
    const creds = s.credentials!;
    await remote(t, s.ssh, envScript(await sensorEnv(host, s.natsUrl, creds), await hostTlsFiles(host, creds)));
    at('service');
    const since = BigInt(Date.now()) * 1_000_000n;
    await remote(t, s.ssh, serviceScript);
    at('heartbeat');
    await heartbeatSince(s.api, host, bundle.version, since, s.heartbeatTimeoutMs);
    s.progress(t, 'ok');
    return { target: t.spec, host, ok: true, step };
  } catch (err) {
    const error = (err as Error).message;
    s.progress(t, step, `failed: ${error}`);
    return { target: t.spec, host, ok: false, step, error };
  }
}

/** Every target deployed (or uninstalled), at most `parallel` at once; outcomes in the targets' order. */
export async function deploy(targets: Target[], s: DeploySettings): Promise<HostOutcome[]> {
  const outcomes: HostOutcome[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      outcomes[i] = await deployOne(targets[i]!, s);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(s.parallel, targets.length)) }, worker));
  return outcomes;
}
