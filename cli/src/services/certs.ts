// tsyringe, under @peculiar/x509, wants the Reflect polyfill loaded before it.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS } from '@vigil/schema';
import { writeAtomic } from './local-secrets.js';

export class CertsError extends Error {
  override name = 'CertsError';
}

/** The files `vigil certs` writes in its folder: what `vigil up --tls-*` and `tls:` in vigil.yaml name. */
export const TLS_FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  cert: 'server.pem',
  key: 'server-key.pem',
  clientCert: (name: string) => `client-${name}.pem`,
  clientKey: (name: string) => `client-${name}-key.pem`,
} as const;

/** The addresses every server certificate names: `vigil up`'s own sensor and control plane connect over loopback. */
export const LOOPBACK_IPS = ['127.0.0.1', '::1'];

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const DNS_NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface CertsRequest {
  dir: string;
  /** DNS names of the server certificate; empty: this machine's hostname and localhost. */
  hosts: string[];
  /** IP addresses of the server certificate, beside LOOPBACK_IPS. */
  ips: string[];
  /** Names of client certificates to issue (mutual TLS), signed by the CA in `dir` (made when absent). */
  clients: string[];
  /** Replace files that exist. */
  force: boolean;
  /** Validity of the server and client certificates; the CA's is DEFAULT_CA_DAYS. */
  days?: number;
  now?: Date;
}

export interface CertsResult {
  dir: string;
  /** The files written, in the order written. */
  written: string[];
  /** Whether the CA already in `dir` signed the client certificates (no new CA, no new server certificate). */
  reusedCa: boolean;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
x509.cryptoProvider.set(webcrypto as Crypto);

const newKeys = () => webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

async function keyPem(key: CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')}\n`;
}

/** A positive 128-bit serial (RFC 5280: at most 20 octets, not negative). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

const days = (from: Date, n: number) => new Date(from.getTime() + n * 86_400_000);

interface Issuer {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

async function createCa(now: Date): Promise<Issuer & { keyPem: string }> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Vigil CA ${hostname()}`,
    notBefore: now,
    notAfter: days(now, DEFAULT_CA_DAYS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey, keyPem: await keyPem(keys.privateKey) };
}

async function loadCa(dir: string): Promise<Issuer> {
  const certFile = join(dir, TLS_FILES.ca);
  const keyFile = join(dir, TLS_FILES.caKey);
  try {
    const cert = new x509.X509Certificate(readFileSync(certFile, 'utf8'));
    const der = x509.PemConverter.decodeFirst(readFileSync(keyFile, 'utf8'));
    const key = await webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
    return { cert, key };
  } catch (cause) {
    throw new CertsError(`cannot load the CA from ${certFile} and ${keyFile}: ${(cause as Error).message}`, { cause });
  }
}

/** A certificate the CA signs: the server's (both usages: the server's own parts present it as clients) or a client's. */
async function issue(
  ca: Issuer,
  subject: string,
  usages: x509.ExtendedKeyUsage[],
  names: x509.JsonGeneralNames,
  now: Date,
  validDays: number,
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: now,
    notAfter: days(now, validDays),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await keyPem(keys.privateKey) };
}

function checkNames(req: CertsRequest): void {
  for (const h of req.hosts)
    if (!DNS_NAME.test(h))
      throw new CertsError(`--host ${JSON.stringify(h)} is not a DNS name (use --ip for addresses)`);
  for (const ip of req.ips) if (!isIP(ip)) throw new CertsError(`--ip ${JSON.stringify(ip)} is not an IP address`);
  for (const c of req.clients)
    if (!CLIENT_NAME.test(c))
      throw new CertsError(`--client ${JSON.stringify(c)}: letters, digits, ".", "_" and "-", at most 64`);
}

/**
 * A small PKI for a first install: an ECDSA P-256 CA, a server certificate for nats-server and the
 * API (SANs: the hosts, or this machine's hostname and localhost, and the IPs with loopback's), and
 * client certificates for mutual TLS. Keys are written 0600, certificates 0644. With `clients` and a
 * CA already in `dir`, only the client certificates are made, signed by that CA. Nothing that exists
 * is replaced without `force`.
 */
export async function createCerts(req: CertsRequest): Promise<CertsResult> {
  checkNames(req);
  const now = req.now ?? new Date();
  const validDays = req.days ?? DEFAULT_CERT_DAYS;
  const at = (f: string) => join(req.dir, f);
  const haveCa = existsSync(at(TLS_FILES.ca)) && existsSync(at(TLS_FILES.caKey));
  const reuseCa = haveCa && !req.force && req.clients.length > 0;
  const targets = [
    ...(reuseCa ? [] : [TLS_FILES.ca, TLS_FILES.caKey, TLS_FILES.cert, TLS_FILES.key]),
    ...req.clients.flatMap((c) => [TLS_FILES.clientCert(c), TLS_FILES.clientKey(c)]),
  ];
  const present = targets.filter((f) => existsSync(at(f)));
  if (present.length > 0 && !req.force)
    throw new CertsError(
      `${req.dir} already holds ${present.join(', ')}; pass --force to replace ${present.length > 1 ? 'them' : 'it'}${haveCa ? ', or --client NAME to add a client certificate signed by its CA' : ''}`,
    );
  mkdirSync(req.dir, { recursive: true, mode: 0o755 });
  const written: string[] = [];
  const write = (f: string, text: string, mode: number) => {
    writeAtomic(at(f), text, mode, null);
    written.push(at(f));
  };
  let ca: Issuer;
  if (reuseCa) ca = await loadCa(req.dir);
  else {
    const made = await createCa(now);
    ca = made;
    write(TLS_FILES.caKey, made.keyPem, 0o600);
    write(TLS_FILES.ca, `${made.cert.toString('pem')}\n`, 0o644);
    const hosts = req.hosts.length ? req.hosts : [...new Set([hostname(), 'localhost'])];
    const ips = [...new Set([...req.ips, ...LOOPBACK_IPS])];
    const server = await issue(
      ca,
      `CN=${hosts[0]}`,
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      [
        ...hosts.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ],
      now,
      validDays,
    );
    write(TLS_FILES.key, server.keyPem, 0o600);
    write(TLS_FILES.cert, server.certPem, 0o644);
  }
  for (const name of req.clients) {
    const client = await issue(ca, `CN=${name}`, [x509.ExtendedKeyUsage.clientAuth], [], now, validDays);
    write(TLS_FILES.clientKey(name), client.keyPem, 0o600);
    write(TLS_FILES.clientCert(name), client.certPem, 0o644);
  }
  return { dir: req.dir, written, reusedCa: reuseCa };
}

/** A client certificate and its key, as PEM. */
export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

/**
 * Issues client certificates (mutual TLS, CN = the name) signed by the CA in `dir` (`vigil certs`'
 * folder), without writing them: `vigil deploy --client-certs` makes one per host. The CA is loaded
 * now, so a missing or unreadable one stops before any host is touched.
 */
export async function clientIssuer(
  dir: string,
  validDays = DEFAULT_CERT_DAYS,
): Promise<(name: string) => Promise<IssuedCert>> {
  const ca = await loadCa(dir);
  return async (name) => {
    if (!CLIENT_NAME.test(name))
      throw new CertsError(
        `${JSON.stringify(name)} cannot name a client certificate: letters, digits, ".", "_" and "-", at most 64`,
      );
    return issue(ca, `CN=${name}`, [x509.ExtendedKeyUsage.clientAuth], [], new Date(), validDays);
  };
}
