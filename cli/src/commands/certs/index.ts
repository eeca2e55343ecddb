import { join } from 'node:path';
import { Flags } from '@oclif/core';
import { DEFAULT_CERT_DAYS, TLS_DIR } from '@vigil/schema';
import { VigilCommand } from '../../base-command.js';
import { createCerts, TLS_FILES, type CertsResult } from '../../services/certs.js';
import { dataDirFromEnv } from '../../services/local-secrets.js';

export default class Certs extends VigilCommand {
  static override description =
    'Create a small CA, a server certificate for nats-server and the API, and client certificates (mutual TLS) for a first install; keys are written 0600. Nothing is replaced without --force; with --client and a CA already there, only the client certificate is made, signed by it. `vigil up --tls-dir DIR` (or tls: in vigil.yaml) then uses them.';
  static override enableJsonFlag = true;
  static override examples = [
    'sudo <%= config.bin %> certs',
    'sudo <%= config.bin %> certs --host vigil.example --ip 10.0.0.5 --client ops',
    'sudo <%= config.bin %> certs --client alice',
  ];
  static override flags = {
    'data-dir': Flags.string({ description: 'the data directory of vigil up', default: dataDirFromEnv() }),
    dir: Flags.string({ description: `where to write them [default: <data-dir>/${TLS_DIR}]` }),
    host: Flags.string({
      description: "DNS name clients reach the server by (repeatable) [default: this machine's hostname and localhost]",
      multiple: true,
      default: [],
    }),
    ip: Flags.string({
      description: 'IP address clients reach the server at (repeatable); 127.0.0.1 and ::1 are always named',
      multiple: true,
      default: [],
    }),
    client: Flags.string({
      description: 'also make a client certificate with this name (repeatable)',
      multiple: true,
      default: [],
    }),
    days: Flags.integer({
      description: 'validity of the server and client certificates',
      default: DEFAULT_CERT_DAYS,
      min: 1,
    }),
    force: Flags.boolean({
      description: 'replace files that exist (a new CA: every certificate it signed stops working)',
      default: false,
    }),
  };

  async run(): Promise<CertsResult> {
    const { flags } = await this.parse(Certs);
    const dir = flags.dir ?? join(flags['data-dir'], TLS_DIR);
    const result = await createCerts({
      dir,
      hosts: flags.host,
      ips: flags.ip,
      clients: flags.client,
      force: flags.force,
      days: flags.days,
    });
    if (!this.jsonEnabled()) {
      for (const f of result.written) this.log(`wrote ${f}`);
      if (!result.reusedCa)
        this.log(`next: vigil up --tls-dir ${dir} (clients trust ${join(dir, TLS_FILES.ca)}: vigil --ca, or VIGIL_CA)`);
    }
    return result;
  }
}
