import { Command, Flags } from '@oclif/core';
import { DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_NATS_PORT } from '@vigil/schema';
import { startStack, untilSignal } from '../../services/stack.js';
import { createLogger, logFlags, logFormat } from '../../services/logger.js';
import { natsAuthFlags, natsOptions } from '../../services/nats-options.js';
import { apiServeFlags, configFileFlags, detectionFlags, sensorFlags, storageFlags } from '../../services/flags.js';
import { configPath, loadConfigFile } from '../../services/config-file.js';
import { sensorSettings } from '../../services/configs.js';
import { dataDirFromEnv } from '../../services/local-secrets.js';
import { defaultHostId } from '../../services/host-id.js';
import { apiFlagFor } from '../../services/api-client.js';
import { sensorNatsAuth } from '../../services/sensor-process.js';
import { printableNatsConfig } from '../../services/local-nats-auth.js';
import { checkListen, serveTls, tlsServeFlags, type ServeTls } from '../../services/tls-settings.js';

export default class Up extends Command {
  static override description =
    'Run Vigil on this host: nats-server (JetStream), the control plane with embedded storage, and the sensor in its own process; nats-server and the sensor are restarted when they exit (nats-server also when JetStream is disabled) and die with this process. Foreground until SIGINT/SIGTERM. The data directory is closed to other users; NATS credentials are created in <data-dir>/secrets and the API token in <data-dir>/api-token (unless VIGIL_API_TOKEN is set) at the first start, and kept.';
  static override examples = [
    'sudo <%= config.bin %> up',
    'sudo <%= config.bin %> up --data-dir /var/lib/vigil --clickhouse http://ch:8123',
  ];
  static override flags = {
    'data-dir': Flags.string({
      description: 'where NATS and the embedded ClickHouse keep their data, and Vigil its secrets',
      default: dataDirFromEnv(),
    }),
    'api-port': Flags.integer({ description: 'API port', default: DEFAULT_API_PORT }),
    'api-host': Flags.string({ description: `API listen address [default: --listen, else ${DEFAULT_API_HOST}]` }),
    listen: Flags.string({
      description: `address nats-server and the API listen on (listen: in vigil.yaml) [default: ${DEFAULT_API_HOST}]; off loopback only with TLS (vigil certs, --tls-dir)`,
    }),
    ...tlsServeFlags,
    ...apiServeFlags,
    'nats-port': Flags.integer({ description: 'port of the nats-server started here', default: DEFAULT_NATS_PORT }),
    nats: Flags.string({ description: 'use this NATS server instead of starting one (URL)' }),
    clickhouse: Flags.string({ description: 'store in this ClickHouse server (URL) instead of the embedded engine' }),
    ...sensorFlags,
    ...storageFlags,
    ...configFileFlags,
    ...detectionFlags,
    ...natsAuthFlags,
    ...logFlags,
    'print-nats-config': Flags.boolean({
      description:
        'print the nats-server configuration vigil up runs (operator mode, its listen address, TLS) and exit; the keys are made in <data-dir>/secrets when absent',
      default: false,
    }),
    'advertise-nats': Flags.string({
      description:
        'NATS URL enrolling sensors are told to connect to (repeatable) [default: the one started here; with --listen 0.0.0.0 or ::, nats://<hostname>:<port>]',
      multiple: true,
    }),
    'no-sensor': Flags.boolean({
      description:
        'run no sensor on this host: nats-server, the control plane and enrollment for sensors deployed elsewhere (vigil deploy)',
      default: false,
    }),
    // For the benchmark that compares it with the sensor's own process (bench/sensor-apart.mjs).
    'sensor-in-process': Flags.boolean({
      description:
        'run the sensor inside this process, beside the control plane and embedded database (it then loses events under load)',
      default: false,
      hidden: true,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Up);
    const log = createLogger(logFormat(flags['log-format']));
    // Listening from the start: a Ctrl-C during startup stops what started, in order, once it has.
    const signalled = untilSignal();
    // Before anything starts: an invalid file is an error, not a half-started stack.
    const config = await loadConfigFile(configPath(flags.config), log).catch((err: Error) =>
      this.error(err.message, { exit: 1 }),
    );
    // What serves beyond this host is encrypted: checked before anything starts.
    const listen = flags.listen ?? config?.current().listen ?? DEFAULT_API_HOST;
    const apiHost = flags['api-host'] ?? listen;
    let tls: ServeTls | null;
    try {
      tls = serveTls(flags, config?.current());
      checkListen([...(flags.nats ? [] : [{ what: 'NATS', addr: listen }]), { what: 'the API', addr: apiHost }], tls);
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
    if (flags['print-nats-config']) {
      const conf = await printableNatsConfig({
        dataDir: flags['data-dir'],
        host: flags['host-id'] ?? defaultHostId(log),
        listen,
        port: flags['nats-port'],
        tls,
        log,
      }).catch((err: Error) => this.error(err.message, { exit: 1 }));
      process.stdout.write(conf);
      return;
    }
    const stack = await startStack({
      ...(config ? { config } : {}),
      dataDir: flags['data-dir'],
      controlPlane: { ...flags, 'api-host': apiHost },
      listen,
      tls,
      ...(process.env.VIGIL_API_TOKEN ? { apiToken: process.env.VIGIL_API_TOKEN } : {}),
      natsPort: flags['nats-port'],
      ...(flags.nats
        ? { natsUrl: flags.nats, natsOptions: natsOptions(flags.nats, flags), sensorNatsAuth: sensorNatsAuth(flags) }
        : {}),
      ...(flags['sensor-in-process'] ? { sensorInProcess: true } : {}),
      ...(flags['no-sensor'] ? { noSensor: true } : {}),
      ...(flags['advertise-nats'] ? { advertiseNats: flags['advertise-nats'] } : {}),
      hostId: flags['host-id'] ?? defaultHostId(log),
      sensor: sensorSettings(flags),
      log,
    }).catch((err: Error) => this.error(err.message, { exit: 1 }));
    // The CLI finds the token file in VIGIL_DATA_DIR (default DEFAULT_DATA_DIR).
    const elsewhere =
      flags['data-dir'] === dataDirFromEnv() ? '' : `; the CLI reads it with VIGIL_DATA_DIR=${flags['data-dir']}`;
    const token = stack.apiTokenFile ? ` (token: ${stack.apiTokenFile}, for root and group vigil${elsewhere})` : '';
    const ca = tls?.ca ? ` --ca ${tls.ca}` : '';
    this.logToStderr(
      `vigil is up: API ${stack.apiUrl}${token}, NATS ${stack.natsUrl}${tls ? ' (TLS)' : ''}. Try \`sudo npx vigil events${apiFlagFor(stack.apiUrl)}${ca}\` in another shell; Ctrl-C stops.`,
    );
    const sig = await signalled;
    log.info({ signal: sig }, 'stopping');
    await stack.stop();
    log.info({}, 'vigil stopped');
  }
}
