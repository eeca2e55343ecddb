/**
 * The well-known tools the sensor and the control plane both name: defined once here.
 */

/** Directories whose executables name the tool they are (a copy elsewhere is known by its hash). */
export const TOOL_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];

/**
 * Tools a renamed copy of which matters: network clients and relays, shells and interpreters. The
 * sensor reports reference hashes of the host's own copies found in TOOL_DIRS (`exe.reference`), and
 * the control plane names a process by the tool whose hash its image has (ctx.toolOf).
 */
export const KNOWN_TOOLS = [
  'ssh',
  'autossh',
  'socat',
  'nc',
  'ncat',
  'netcat',
  'nc.openbsd',
  'nc.traditional',
  'telnet',
  'openssl',
  'curl',
  'wget',
  'chisel',
  'frpc',
  'frps',
  'cloudflared',
  'ngrok',
  'gost',
  'bore',
  'sshuttle',
  'bash',
  'dash',
  'sh',
  'zsh',
  'ksh',
  'fish',
  'busybox',
  'python3',
  'python',
  'perl',
  'ruby',
  'php',
  'node',
  'lua',
  'xmrig',
  // Signal senders: a renamed copy of kill still stops the sensor's probes (pkill is not here: it is
  // pgrep's file, and a renamed copy of it acts as pgrep).
  'kill',
  'killall',
];
