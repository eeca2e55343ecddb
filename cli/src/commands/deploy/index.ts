import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.js';
import { buildBundle, bundleVersion } from '../../services/bundle/build.js';
import { clientIssuer, TLS_FILES } from '../../services/certs.js';
import { readCa, type Credentials } from '../../services/deploy/credentials.js';
import { deploy, plan, type HostOutcome } from '../../services/deploy/deploy.js';
import { targetsFrom } from '../../services/deploy/targets.js';
import { printable, table } from '../../services/render.js';

export default class Deploy extends ApiCommand<typeof Deploy> {
  static override description =
    "Install the sensor on hosts over ssh (as root): the bundle under /opt/vigil, /etc/vigil/sensor.env, vigil-sensor.service; then wait for each host's heartbeat. Re-running upgrades in place.";
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = { host: Args.string({ description: 'HOST, USER@HOST or HOST:PORT (more may follow)' }) };
  static override examples = [
    '<%= config.bin %> deploy gpu-01 gpu-02:2222 --api https://vigil.example:8080',
    '<%= config.bin %> deploy --hosts-file hosts.txt --parallel 20 --install-deps',
    '<%= config.bin %> deploy gpu-01 --uninstall',
  ];
  static override flags = {
    'hosts-file': Flags.string({ description: 'file of hosts, one a line (# comments)' }),
    bundle: Flags.string({ description: 'a bundle from `vigil bundle` (default: build one now)' }),
    'nats-url': Flags.string({
      description: "the NATS URL the hosts' sensors connect to (static credentials; enrollment answers its own)",
    }),
    'enroll-url': Flags.string({ description: 'the control plane URL sensors enrol at (default: --api)' }),
    'nats-user': Flags.string({
      description: 'static NATS credentials instead of enrollment: the user ("{host}" is the host id)',
    }),
    'nats-password': Flags.string({
      description: 'the static NATS password',
      env: 'VIGIL_DEPLOY_NATS_PASSWORD',
      dependsOn: ['nats-user'],
    }),
    'client-certs': Flags.string({
      description:
        'with mutual TLS (tls.clientAuth): the folder of `vigil certs` (ca.pem, ca-key.pem); each host gets a client certificate of its own (CN = its host id) signed by that CA, as /etc/vigil/client.pem and client-key.pem, and the CA as /etc/vigil/ca.pem unless --ca names another',
      exclusive: ['nats-user'],
    }),
    'install-deps': Flags.boolean({ description: 'install bpftrace with apt-get where it is missing' }),
    parallel: Flags.integer({ description: 'hosts deployed at once', default: 10, min: 1, max: 500 }),
    'dry-run': Flags.boolean({ description: 'print the plan and change nothing' }),
    uninstall: Flags.boolean({ description: 'remove everything deploy installed' }),
    'ssh-config': Flags.string({ description: 'an ssh_config file (ssh -F); default: your own' }),
    'heartbeat-timeout': Flags.integer({ description: 'seconds to wait for a heartbeat', default: 120, min: 1 }),
  };

  async run(): Promise<{ plan: string[] } | { hosts: HostOutcome[] }> {
    const f = this.flags;
    const { argv } = await this.parse(Deploy);
    const targets = targetsFrom(argv as string[], f['hosts-file']);
    if (!f.uninstall && f['nats-user'] && !f['nats-url'])
      this.error('--nats-url is needed with --nats-user (an enrolled sensor is told its NATS URLs when it enrolls)');
    const version = f.bundle ? bundleVersion(basename(f.bundle)) : this.config.version;
    if (!version) this.error(`--bundle: ${f.bundle} is not named vigil-sensor-<version>-linux-x64.tar.gz`);
    if (f['dry-run']) {
      const lines = plan(targets, f.uninstall, version);
      if (!this.jsonEnabled()) for (const l of ['dry run: nothing changes', ...lines]) this.log(printable(l));
      return { plan: lines };
    }
    const api = this.api();
    const certs = f['client-certs'];
    const caFile = f.ca ?? (certs ? join(certs, TLS_FILES.ca) : undefined);
    const credentials: Credentials = f['nats-user']
      ? { kind: 'static', user: f['nats-user'], password: f['nats-password'] ?? '' }
      : {
          kind: 'enroll',
          api,
          enrollUrl: f['enroll-url'] ?? api.url,
          ...(caFile ? { ca: readCa(caFile) } : {}),
          ...(certs && !f.uninstall
            ? {
                clientCert: await clientIssuer(certs).catch((err: Error) =>
                  this.error(`--client-certs: ${err.message}`),
                ),
              }
            : {}),
        };
    let built: string | undefined;
    try {
      let bundle: { path: string; version: string } | undefined;
      if (!f.uninstall) {
        if (f.bundle) bundle = { path: f.bundle, version };
        else {
          built = mkdtempSync(join(tmpdir(), 'vigil-deploy-'));
          bundle = await buildBundle(built, version);
        }
      }
      const hosts = await deploy(targets, {
        ssh: { connectTimeoutS: 15, ...(f['ssh-config'] ? { configFile: f['ssh-config'] } : {}) },
        uninstall: f.uninstall,
        ...(bundle ? { bundle } : {}),
        ...(f['nats-url'] ? { natsUrl: f['nats-url'] } : {}),
        credentials,
        installDeps: f['install-deps'],
        api,
        heartbeatTimeoutMs: f['heartbeat-timeout'] * 1000,
        parallel: f.parallel,
        progress: (t, step, detail) =>
          process.stderr.write(`${printable(`${t.spec}: ${step}${detail ? ` ${detail}` : ''}`)}\n`),
      });
      if (!this.jsonEnabled())
        this.log(
          table(
            ['HOST', 'HOST ID', 'RESULT'],
            hosts.map((h) => [h.target, h.host ?? '-', h.ok ? 'ok' : `failed at ${h.step}: ${h.error}`]),
            200,
          ),
        );
      if (hosts.some((h) => !h.ok)) process.exitCode = 1;
      return { hosts };
    } finally {
      if (built) rmSync(built, { recursive: true, force: true });
    }
  }
}
