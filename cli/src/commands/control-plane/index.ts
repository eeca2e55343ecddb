import { join } from 'node:path';
import { Command, Flags } from '@oclif/core';
import { untilSignal } from '../../services/signals.js';
import { createLogger, logFlags, logFormat } from '../../services/logger.js';
import { natsAuthFlags, natsOptions } from '../../services/nats-options.js';
import { apiServeFlags, detectionFlags, expectedGpu, queryLimits, storageFlags } from '../../services/flags.js';
import { API_TOKEN_FILE, dataDirFromEnv, loadOrCreateApiToken } from '../../services/local-secrets.js';
import { CONTROL_PLANE_INBOX_PREFIX, StepsAbortedError } from '@vigil/schema';

export default class ControlPlane extends Command {
  static override description = 'Run the control plane alone: JetStream consumer → ClickHouse, and the HTTP API. The API wants a bearer token: VIGIL_API_TOKEN, else the one in --api-token-file (created at the first start, root only, or group vigil where it exists).';
  static override flags = {
    'data-dir': Flags.string({ description: 'embedded ClickHouse data directory', default: process.env.VIGIL_DATA_DIR ? `${process.env.VIGIL_DATA_DIR}/clickhouse` : '/var/lib/vigil/clickhouse' }),
    clickhouse: Flags.string({ description: 'ClickHouse server URL instead of the embedded engine' }),
    nats: Flags.string({ description: 'NATS URL', default: process.env.VIGIL_NATS ?? 'nats://127.0.0.1:4222' }),
    'api-port': Flags.integer({ default: 8787 }),
    'api-host': Flags.string({ default: '127.0.0.1' }),
    'api-token-file': Flags.string({ description: 'where the API token is kept when VIGIL_API_TOKEN is not set (the CLI reads $VIGIL_DATA_DIR/api-token)', default: join(dataDirFromEnv(), API_TOKEN_FILE) }),
    ...apiServeFlags,
    'silent-after': Flags.integer({ description: 'seconds without heartbeat before a sensor is reported silent', default: 30 }),
    ...storageFlags,
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
    let token: string;
    try {
      token = process.env.VIGIL_API_TOKEN || loadOrCreateApiToken(flags['api-token-file'], log);
    } catch (err) {
      this.error(`api token: ${(err as Error).message}`, { exit: 1 });
    }
    const cp = await startControlPlane({
      storage: flags.clickhouse ? { kind: 'server', url: flags.clickhouse } : { kind: 'embedded', dataDir: flags['data-dir'] },
      nats: natsOptions(flags.nats, flags, CONTROL_PLANE_INBOX_PREFIX),
      api: {
        host: flags['api-host'], port: flags['api-port'],
        token,
        ...(flags['api-allowed-host'] ? { allowedHosts: flags['api-allowed-host'] } : {}),
      },
      silentAfterSeconds: flags['silent-after'],
      storeLingerMs: flags['store-linger-ms'],
      ...(flags['stream-max-mb'] !== undefined ? { streamMaxBytes: flags['stream-max-mb'] * 1024 * 1024 } : {}),
      queryLimits: queryLimits(flags),
      ...(flags.detections ? { detections: flags.detections } : {}),
      expectedGpu: expectedGpu(flags['gpu-expected']),
      log,
      signal: stopping.signal,
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
