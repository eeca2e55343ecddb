import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Command, Flags } from '@oclif/core';
import { untilSignal } from '../../services/signals.js';
import { createLogger, logFlags, logFormat } from '../../services/logger.js';
import { natsAuthFlags, natsOptions } from '../../services/nats-options.js';
import { apiServeFlags, configFileFlags, detectionFlags, storageFlags } from '../../services/flags.js';
import { configPath, loadConfigFile } from '../../services/config-file.js';
import { controlPlaneConfig } from '../../services/configs.js';
import { serveTls, tlsServeFlags, type ServeTls } from '../../services/tls-settings.js';
import { API_TOKEN_FILE, dataDirFromEnv, loadOrCreateApiToken } from '../../services/local-secrets.js';
import { loadResponseSigningKey } from '../../services/response-keys.js';
import { centralNatsAuth, enrollStateDir } from '../../services/central-auth.js';
import type { EnrollOptions } from '@vigil/control-plane/enroll';
import {
  CONTROL_PLANE_INBOX_PREFIX,
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  DEFAULT_INGEST_LEASE_SECONDS,
  DEFAULT_NATS_URL,
  DEFAULT_PARTITIONS,
  DEFAULT_SILENT_AFTER_SECONDS,
  StepsAbortedError,
} from '@vigil/schema';

export default class ControlPlane extends Command {
  static override description =
    'Run the control plane alone: JetStream consumer → ClickHouse, and the HTTP API. The API wants a bearer token: VIGIL_API_TOKEN, else the one in --api-token-file (created at the first start, root only, or group vigil where it exists).';
  static override flags = {
    'data-dir': Flags.string({
      description: 'embedded ClickHouse data directory',
      default: join(dataDirFromEnv(), 'clickhouse'),
    }),
    clickhouse: Flags.string({ description: 'ClickHouse server URL instead of the embedded engine' }),
    replicas: Flags.boolean({
      description:
        'run as one of several replicas sharing the events stream by host partition (needs --clickhouse, and the NATS account mapping in docs/operations.md)',
      dependsOn: ['clickhouse'],
    }),
    partitions: Flags.integer({
      description: "partitions of the host space with --replicas: the n of the NATS mapping's partition(n, 1)",
      default: DEFAULT_PARTITIONS,
      min: 1,
      max: 1024,
    }),
    nats: Flags.string({ description: 'NATS URL', default: process.env.VIGIL_NATS ?? DEFAULT_NATS_URL }),
    'nats-secrets': Flags.string({
      description:
        'the NATS operator keys (a folder holding nats-operator.json, made by `vigil nats-config`): connect with a user JWT of its own and enroll hosts; their state is kept in <data-dir>/enroll',
      env: 'VIGIL_NATS_SECRETS',
    }),
    'advertise-nats': Flags.string({
      description: 'with --nats-secrets: NATS URL enrolling sensors are told (repeatable) [default: --nats]',
      multiple: true,
    }),
    'api-port': Flags.integer({ default: DEFAULT_API_PORT }),
    'api-host': Flags.string({ default: DEFAULT_API_HOST }),
    'api-token-file': Flags.string({
      description:
        'where the API token is kept when VIGIL_API_TOKEN is not set (the CLI reads $VIGIL_DATA_DIR/api-token)',
      default: join(dataDirFromEnv(), API_TOKEN_FILE),
    }),
    ...apiServeFlags,
    ...tlsServeFlags,
    'ingest-lease-seconds': Flags.integer({
      description: `how long a crashed control plane's ingest lease (or a replica's partition lease) keeps another from taking over; set where the lease bucket is first made on this NATS, and kept by it [default: ${DEFAULT_INGEST_LEASE_SECONDS}]`,
      min: 2,
      max: 600,
    }),
    'silent-after': Flags.integer({
      description: 'seconds without heartbeat before a sensor is reported silent',
      default: DEFAULT_SILENT_AFTER_SECONDS,
    }),
    'response-key': Flags.string({
      description:
        'Ed25519 private key (PEM) to sign response orders with; sensors check them with its public half (--response-key there). Without it, no orders are sent',
      env: 'VIGIL_RESPONSE_SIGNING_KEY',
    }),
    ...storageFlags,
    ...configFileFlags,
    ...detectionFlags,
    ...natsAuthFlags,
    ...logFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ControlPlane);
    const log = createLogger(logFormat(flags['log-format']));
    // Listening from the start: a Ctrl-C during startup ends the step under way (a storage server
    // that does not answer is not waited for) and stops what started, in order.
    const signalled = untilSignal();
    const stopping = new AbortController();
    void signalled.then(() => stopping.abort());
    // Imported on use: oclif loads every command module, and this one brings chDB.
    const { startControlPlane } = await import('@vigil/control-plane');
    // Before anything starts: an invalid file is an error, not a half-started control plane.
    const config = await loadConfigFile(configPath(flags.config), log).catch((err: Error) =>
      this.error(err.message, { exit: 1 }),
    );
    let tls: ServeTls | null;
    try {
      tls = serveTls(flags, config?.current());
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    let token: string;
    try {
      token = process.env.VIGIL_API_TOKEN || loadOrCreateApiToken(flags['api-token-file'], log);
    } catch (err) {
      this.error(`api token: ${(err as Error).message}`, { exit: 1 });
    }
    let responseKey: KeyObject | undefined;
    try {
      responseKey = flags['response-key'] ? loadResponseSigningKey(flags['response-key']) : undefined;
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    let nats = natsOptions(flags.nats, flags, CONTROL_PLANE_INBOX_PREFIX);
    let enroll: EnrollOptions | undefined;
    if (flags['nats-secrets']) {
      try {
        ({ nats, enroll } = await centralNatsAuth({
          secretsDir: flags['nats-secrets'],
          stateDir: enrollStateDir(flags['data-dir']),
          nats,
          advertise: flags['advertise-nats'],
        }));
      } catch (err) {
        this.error(`--nats-secrets: ${(err as Error).message}`, { exit: 1 });
      }
    }
    const cp = await startControlPlane({
      ...controlPlaneConfig(flags, {
        embeddedDir: flags['data-dir'],
        nats,
        token,
        log,
        signal: stopping.signal,
        ...(config ? { config } : {}),
        ...(tls ? { tls } : {}),
      }),
      ...(responseKey ? { responseKey } : {}),
      ...(enroll ? { enroll } : {}),
      ...(flags.replicas ? { replicas: { partitions: flags.partitions } } : {}),
    }).catch((err: Error) => {
      if (err instanceof StepsAbortedError) return null;
      return this.error(err.message, { exit: 1 });
    });
    if (!cp) {
      log.info({}, 'stopped before it finished starting');
      return;
    }
    await signalled;
    await cp.stop();
  }
}
