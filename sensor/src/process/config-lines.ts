/**
 * The lines of a config file that can change what a network tool does: forwards and proxies (ssh),
 * servers and proxied ports (frp), pools and wallets (miners), tunnels and ingress (cloudflared, ngrok,
 * gost, chisel). Everything else in the file is dropped, and secret values are redacted.
 */

/** Keys whose line is kept, matched case-insensitively as a key (`Key value`, `key = v`, `"key": v`, `key: v`). */
export const CONFIG_KEYS = [
  // ssh_config(5)
  'RemoteForward',
  'LocalForward',
  'DynamicForward',
  'ProxyCommand',
  'ProxyJump',
  'Host',
  'HostName',
  'Port',
  'GatewayPorts',
  'Tunnel',
  'LocalCommand',
  'PermitLocalCommand',
  'Include',
  // frp (TOML camelCase and INI snake_case)
  'serverAddr',
  'server_addr',
  'serverPort',
  'server_port',
  'type',
  'localIP',
  'local_ip',
  'localPort',
  'local_port',
  'remotePort',
  'remote_port',
  // miners (xmrig, lolMiner, t-rex, …)
  'url',
  'pool',
  'pools',
  'user',
  'wallet',
  'algo',
  'coin',
  'cuda',
  'opencl',
  'pass',
  'password',
  // cloudflared, ngrok, gost, chisel
  'tunnel',
  'credentials-file',
  'ingress',
  'service',
  'hostname',
  'authtoken',
  'token',
  'addr',
  'proto',
  'ServeNodes',
  'ChainNodes',
  'services',
  'listeners',
  'forwarder',
  'server',
  'remote',
];

/** Keys whose value is a secret: the line is kept with the value replaced. */
export const SECRET_KEY = /[\w.-]*(?:token|password|passwd|pass|secret|key)/;
export const REDACTED = '<redacted>';
export const MAX_DIRECTIVES = 64;
export const MAX_DIRECTIVE_CHARS = 256;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
/**
 * A key where keys are: at the start of the line (after a YAML list's `- ` or a dotted prefix such as
 * `auth.`), or after a JSON object's or array's delimiter; then its separator. A key's word in prose
 * (`description = the url of …`) is not one.
 */
const KEY_LINE = new RegExp(
  `(?:^(?:-\\s+)?(?:[\\w-]+\\.)*|[{,[]\\s*)["']?(?:${CONFIG_KEYS.map(escapeRe).join('|')})["']?\\s*(?:[:=\\s]|$)`,
  'i',
);
/** A TOML/INI section header: `[name]`, `[[proxies]]`. */
const SECTION = /^\[\[?[^\][]{1,128}\]\]?$/;
const SECRET_VALUE = new RegExp(
  `((?:^|[\\s{,[-])["']?${SECRET_KEY.source}["']?\\s*[:=\\s]\\s*)("[^"]*"|'[^']*'|[^\\s,}\\]]+)`,
  'gi',
);
/** The password in a URL's userinfo (stratum+tcp://wallet:password@pool). */
const URL_PASSWORD = /(\b[a-z][\w+.-]*:\/\/[^:/@\s]*:)[^@\s/]+@/gi;
/** Bytes that are not text become spaces, so a NUL or an escape sequence never reaches a terminal. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** A kept line with its secrets replaced by `<redacted>`. */
export function redact(line: string): string {
  return line.replace(SECRET_VALUE, `$1${REDACTED}`).replace(URL_PASSWORD, `$1${REDACTED}@`);
}

/** Whether a trimmed line is one of interest. */
export function isDirective(line: string): boolean {
  return SECTION.test(line) || KEY_LINE.test(line);
}

/**
 * The lines of interest of a file's text, in file order: trimmed, redacted, each cut to 256
 * characters, at most 64 (`truncated` says there were more).
 */
export function extractDirectives(text: string): { directives: string[]; truncated: boolean } {
  const directives: string[] = [];
  for (const raw of text.split(/\r?\n|\r/)) {
    const line = raw.replace(CONTROL, ' ').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('//')) continue;
    if (!isDirective(line)) continue;
    if (directives.length === MAX_DIRECTIVES) return { directives, truncated: true };
    directives.push(redact(line).slice(0, MAX_DIRECTIVE_CHARS));
  }
  return { directives, truncated: false };
}
