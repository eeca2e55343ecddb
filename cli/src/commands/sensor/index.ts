import { join } from 'node:path';
import { Command, Flags } from '@oclif/core';
import {
  DEFAULT_CREDS_DIR,
  DEFAULT_NATS_URL,
  ENROLL_TOKEN_ENV,
  ENROLL_URL_ENV,
  sensorInboxPrefix,
} from '@vigil/schema';
import { startSensor } from '@vigil/sensor';
import { sensorCredential } from '../../services/sensor-enroll.js';
import { sensorConfig, sensorSettings } from '../../services/configs.js';
import { untilSignal } from '../../services/signals.js';
import { SENSOR_READY_MESSAGE } from '../../services/sensor-process.js';
import { createLogger, logFlags, logFormat } from '../../services/logger.js';
import { natsAuthFlags, natsOptions } from '../../services/nats-options.js';
import { apiTlsFlags, sensorFlags } from '../../services/flags.js';
import { defaultHostId } from '../../services/host-id.js';
import { dataDirFromEnv } from '../../services/local-secrets.js';

export default class Sensor extends Command {
  static override description = 'Run the sensor alone (root): bpftrace probes → process tree → NATS JetStream.';
  static override flags = {
    nats: Flags.string({ description: 'NATS URL', default: process.env.VIGIL_NATS ?? DEFAULT_NATS_URL }),
    'spool-dir': Flags.string({
      description: 'where events wait while NATS is unreachable',
      default: join(dataDirFromEnv(), 'spool'),
    }),
    'response-key': Flags.string({
      description:
        "the control plane's public response key (Ed25519, PEM): the sensor carries out the kill orders it signs; without it, it takes no orders",
      env: 'VIGIL_RESPONSE_KEY',
    }),
    'protect-pid': Flags.integer({
      description: 'a process never to kill, nor its descendants (repeatable; `vigil up` names itself and nats-server)',
      multiple: true,
      min: 1,
      default: [],
    }),
    enroll: Flags.string({
      description: `control plane URL to enroll at when the credentials dir holds no credential (then --nats is not used)`,
      env: ENROLL_URL_ENV,
    }),
    token: Flags.string({ description: 'enrollment token (`vigil hosts token create`)', env: ENROLL_TOKEN_ENV }),
    'creds-dir': Flags.string({
      description: `where the enrolled sensor keeps its NATS credential (root only)`,
      default: DEFAULT_CREDS_DIR,
    }),
    ...apiTlsFlags,
    ...sensorFlags,
    ...natsAuthFlags,
    ...logFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Sensor);
    const log = createLogger(logFormat(flags['log-format']));
    // Listening from the start: a Ctrl-C during startup stops what started, in order, once it has.
    const signalled = untilSignal();
    const host = flags['host-id'] ?? defaultHostId(log);
    const cred = await sensorCredential({
      credsDir: flags['creds-dir'],
      host,
      // The installed CLI's version: a bundle's own, what `vigil hosts` shows after an upgrade.
      version: this.config.version,
      enrollUrl: flags.enroll,
      token: flags.token,
      tls: { ca: flags.ca, cert: flags['client-cert'], key: flags['client-key'] },
      log,
    }).catch((err: Error) => this.error(err.message, { exit: 1 }));
    const nats = natsOptions(flags.nats, flags, sensorInboxPrefix(host));
    // One PKI (`vigil certs`): an enrolled sensor reaches NATS with the files it enrolled over HTTPS with.
    if (cred && flags.ca && !nats.tls)
      nats.tls = {
        caFile: flags.ca,
        ...(flags['client-cert'] ? { certFile: flags['client-cert'], keyFile: flags['client-key'] } : {}),
      };
    const cfg = sensorConfig(sensorSettings(flags), {
      nats: cred ? { ...nats, servers: cred.natsUrls, authenticator: cred.authenticator } : nats,
      hostId: host,
      spoolDir: flags['spool-dir'],
      log,
    });
    cfg.version = this.config.version;
    if (flags['response-key']) cfg.responseKeyFile = flags['response-key'];
    cfg.protectedPids = flags['protect-pid'];
    const sensor = await startSensor(cfg).catch((err: Error) => this.error(err.message, { exit: 1 }));
    const renewing = cred?.renewals();
    // Under `vigil up` (its own process, see services/sensor-process.ts): say so, and stop when the
    // channel to it ends, its death included.
    if (process.send) {
      process.send(SENSOR_READY_MESSAGE);
      await Promise.race([
        signalled,
        new Promise((resolve) => process.once('disconnect', () => resolve('disconnect'))),
      ]);
    } else {
      await signalled;
    }
    renewing?.stop();
    await sensor.stop();
    if (process.connected) process.disconnect();
  }
}
