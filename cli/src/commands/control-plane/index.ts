import { Command, Flags } from '@oclif/core';
import { untilSignal } from '../../services/signals.js';
import { createLogger } from '../../services/logger.js';
import { natsAuthFlags, natsOptions } from '../../services/nats-options.js';
import { detectionFlags, expectedGpu, queryLimits, storageFlags } from '../../services/flags.js';

export default class ControlPlane extends Command {
  static override description = 'Run the control plane alone: JetStream consumer → ClickHouse, and the HTTP API.';
  static override flags = {
    'data-dir': Flags.string({ description: 'embedded ClickHouse data directory', default: process.env.VIGIL_DATA_DIR ? `${process.env.VIGIL_DATA_DIR}/clickhouse` : '/var/lib/vigil/clickhouse' }),
    clickhouse: Flags.string({ description: 'ClickHouse server URL instead of the embedded engine' }),
    nats: Flags.string({ description: 'NATS URL', default: process.env.VIGIL_NATS ?? 'nats://127.0.0.1:4222' }),
    'api-port': Flags.integer({ default: 8787 }),
    'api-host': Flags.string({ default: '127.0.0.1' }),
    'silent-after': Flags.integer({ description: 'seconds without heartbeat before a sensor is reported silent', default: 30 }),
    ...storageFlags,
    ...detectionFlags,
    ...natsAuthFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ControlPlane);
    const log = createLogger();
    // Imported on use: oclif loads every command module, and this one brings chDB.
    const { startControlPlane } = await import('@vigil/control-plane');
    const cp = await startControlPlane({
      storage: flags.clickhouse ? { kind: 'server', url: flags.clickhouse } : { kind: 'embedded', dataDir: flags['data-dir'] },
      nats: natsOptions(flags.nats, flags),
      api: { host: flags['api-host'], port: flags['api-port'], ...(process.env.VIGIL_API_TOKEN ? { token: process.env.VIGIL_API_TOKEN } : {}) },
      silentAfterSeconds: flags['silent-after'],
      storeLingerMs: flags['store-linger-ms'],
      queryLimits: queryLimits(flags),
      ...(flags.detections ? { detections: flags.detections } : {}),
      expectedGpu: expectedGpu(flags['gpu-expected']),
      log,
    }).catch((err: Error) => this.error(err.message, { exit: 1 }));
    await untilSignal();
    await cp.stop();
  }
}
