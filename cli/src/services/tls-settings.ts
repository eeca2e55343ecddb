import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Flags } from '@oclif/core';
import type { ConnectionOptions } from 'nats';
import { isLoopbackAddress, type TlsConfig, type VigilConfigV1 } from '@vigil/schema';
import { TLS_FILES } from './certs.js';

export class TlsSettingsError extends Error {
  override name = 'TlsSettingsError';
}

/** TLS for what `vigil up` serves (nats-server and the API) and `vigil control-plane` (the API); flags win over tls: in vigil.yaml. */
export const tlsServeFlags = {
  'tls-dir': Flags.string({
    description: `a folder \`vigil certs\` wrote: its ${TLS_FILES.cert}, ${TLS_FILES.key} and ${TLS_FILES.ca} (turns TLS on)`,
  }),
  'tls-cert': Flags.string({ description: 'server certificate (PEM) for nats-server and the API (turns TLS on)' }),
  'tls-key': Flags.string({ description: "the server certificate's private key (PEM)" }),
  'tls-ca': Flags.string({
    description: 'CA certificate (PEM) that signs client certificates, and that local parts trust',
  }),
  'tls-client-auth': Flags.boolean({
    description: 'require client certificates the CA signed (mutual TLS) from NATS and API clients',
    allowNo: true,
  }),
};

export interface TlsFlagValues {
  'tls-dir'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'tls-ca'?: string | undefined;
  'tls-client-auth'?: boolean | undefined;
}

/** The TLS files in force, and their content read once at start (a restart reads new ones). */
export interface ServeTls extends TlsConfig {
  pem: { cert: string; key: string; ca?: string };
}

const read = (path: string, what: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TlsSettingsError(
      `cannot read the TLS ${what} ${path}: ${(cause as Error).message} (see \`vigil certs\`)`,
      {
        cause,
      },
    );
  }
};

/** TLS from the flags over vigil.yaml's `tls:`; null when neither turns it on. Files that cannot be read are errors here. */
export function serveTls(flags: TlsFlagValues, config?: VigilConfigV1): ServeTls | null {
  const dir = flags['tls-dir'];
  const fromDir = dir
    ? { cert: join(dir, TLS_FILES.cert), key: join(dir, TLS_FILES.key), ca: join(dir, TLS_FILES.ca) }
    : {};
  const base = config?.tls;
  const cert = flags['tls-cert'] ?? fromDir.cert ?? base?.cert;
  const key = flags['tls-key'] ?? fromDir.key ?? base?.key;
  const ca = flags['tls-ca'] ?? fromDir.ca ?? base?.ca;
  const clientAuth = flags['tls-client-auth'] ?? base?.clientAuth ?? false;
  if (!cert && !key) {
    if (clientAuth || flags['tls-ca'])
      throw new TlsSettingsError(
        '--tls-ca and --tls-client-auth need a server certificate: --tls-cert and --tls-key, or --tls-dir',
      );
    return null;
  }
  if (!cert || !key) throw new TlsSettingsError('TLS needs both a certificate and its key (--tls-cert and --tls-key)');
  if (clientAuth && !ca)
    throw new TlsSettingsError('--tls-client-auth needs the CA that signs client certificates (--tls-ca)');
  return {
    cert,
    key,
    ...(ca ? { ca } : {}),
    clientAuth,
    pem: { cert: read(cert, 'certificate'), key: read(key, 'key'), ...(ca ? { ca: read(ca, 'CA certificate') } : {}) },
  };
}

/** What serves beyond this host is encrypted: an address off loopback without TLS is an error naming the fix. */
export function checkListen(addresses: { what: string; addr: string }[], tls: ServeTls | null): void {
  if (tls) return;
  const off = addresses.filter((a) => !isLoopbackAddress(a.addr));
  if (off.length === 0) return;
  throw new TlsSettingsError(
    `${off.map((a) => `${a.what} on ${a.addr}`).join(' and ')} would be off loopback without TLS: create certificates with \`vigil certs\` and pass --tls-dir (or --tls-cert/--tls-key, or tls: in vigil.yaml)`,
  );
}

/** How this host's own parts connect to the nats-server started here: they trust the CA, and present the server's certificate (its clientAuth usage) when clients must. */
export function localNatsTls(tls: ServeTls): NonNullable<ConnectionOptions['tls']> {
  return {
    ...(tls.ca ? { caFile: tls.ca } : {}),
    ...(tls.clientAuth ? { certFile: tls.cert, keyFile: tls.key } : {}),
  };
}
