/**
 * Indicator lists for the built-in detections. Data, not if-chains: a new indicator is a line here.
 * They are fixed at build time (no flag or file extends them); a site's own indicators go in a custom
 * detection (docs/detections.md).
 */
export const MINER_NAMES = [
  'xmrig',
  'xmr-stak',
  'minerd',
  'minergate',
  'cpuminer',
  'ccminer',
  'ethminer',
  'cgminer',
  'bfgminer',
  'sgminer',
  'claymore',
  'nbminer',
  't-rex',
  'gminer',
  'lolminer',
  'phoenixminer',
  'teamredminer',
  'nanominer',
  'bminer',
  'wildrig',
  'srbminer',
  'srbminer-multi',
  'xmrig-cuda',
  'miner',
];

/** stratum+tcp://, stratum2+ssl://, stratums://, daemon+https:// … */
export const STRATUM_URL = /\b(?:stratum[12]?\+(?:tcp|ssl|tls|udp)|stratums?|daemon\+https?):\/\//i;

export const POOL_DOMAINS = [
  'minexmr.com',
  'supportxmr.com',
  'c3pool.com',
  'nanopool.org',
  '2miners.com',
  'hashvault.pro',
  'moneroocean.stream',
  'xmrpool.eu',
  'f2pool.com',
  'ethermine.org',
  'ethpool.org',
  'antpool.com',
  'slushpool.com',
  'dwarfpool.com',
  'minergate.com',
  'unmineable.com',
  'herominers.com',
  'nicehash.com',
  'miningpoolhub.com',
  'crypto-pool.fr',
  'moneropool.com',
  'xmrig.com',
  'hashcity.org',
];

export const POOL_PORTS = [
  25, 2020, 3333, 3334, 3335, 3336, 3353, 3357, 4444, 5555, 5556, 5588, 5730, 6099, 6666, 7777, 7778, 8000, 8001, 8008,
  8080, 8082, 8118, 8333, 8888, 8899, 9332, 9999, 14433, 14444, 20535, 45560, 45700,
];

/** Flags that alone say "miner" (xmrig, T-Rex, lolMiner, SRBMiner…). */
export const MINER_STRONG_FLAGS = [
  '--donate-level',
  '--randomx-1gb-pages',
  '--randomx-wrmsr',
  '--cuda-loader',
  '--nicehash',
  '--coin',
  '--cpu-priority',
  '--lock-cclock',
  '--dualmode',
  '--algorithm',
  '--wallet',
  '--no-cpu',
  '--cuda-devices',
];

export const MINER_ALGOS = [
  'rx/0',
  'rx/wow',
  'rx/arq',
  'randomx',
  'kawpow',
  'ethash',
  'etchash',
  'autolykos2',
  'cn/r',
  'cn/0',
  'cn-heavy',
  'kheavyhash',
  'octopus',
  'firopow',
  'beamhash',
  'equihash',
  'cuckatoo32',
  'zelhash',
  'ghostrider',
  'argon2',
];

/** Fragments of base64 seen in droppers (the three alignments of "--donate-level" and "stratum+"). */
export const MINER_BASE64_FRAGMENTS = [
  'LS1kb25hdGUtbGV2ZWw',
  'tLWRvbmF0ZS1sZXZlbD',
  'gtZG9uYXRlLWxldmVs',
  'c3RyYXR1bS',
  'N0cmF0dW0r',
  'zdHJhdHVtK',
];

/**
 * Places anyone can write, or where droppers hide: a binary run from here was not installed by the
 * system. A hidden directory counts, except the Python environment managers' own (.venv, .conda,
 * .pyenv, .virtualenvs): real training images run from them (the H100 image's PyTorch is
 * /opt/torch/.venv/bin/python3, see probes/fixtures/gpu-h100.events.json).
 */
export const WRITABLE_PLACES = [
  /^\/tmp\//,
  /^\/var\/tmp\//,
  /^\/dev\/shm\//,
  /^\/run\/user\//,
  /^\/home\/[^/]+\/\.cache\//,
  /^\/root\/\.cache\//,
  /\/\.(?!(?:venv|conda|pyenv|virtualenvs)\/)[^/]+\//,
  /^\/memfd:/,
  / \(deleted\)$/,
];

export const SHELLS = ['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'fish', 'tcsh', 'csh', 'busybox'];

export const DOWNLOADERS = ['curl', 'wget', 'aria2c', 'scp', 'sftp', 'rsync', 'ftp', 'tftp', 'fetch'];

/**
 * Local services whose exposure through a tunnel hands out interactive access to the host: ssh,
 * telnet, remote desktops, Jupyter, TensorBoard, the Ray dashboard, the Docker API.
 */
export const EXPOSED_SERVICE_PORTS = [22, 23, 2375, 2376, 3389, 5900, 5901, 6006, 8265, 8888, 8889];

/** What git runs over ssh: an ssh whose remote command is one of these is a fetch or push. */
export const GIT_SSH_COMMANDS = [
  'git-upload-pack',
  'git-receive-pack',
  'git-upload-archive',
  'git-lfs-authenticate',
  'git-lfs-transfer',
];

/** Well-known tools that relay or tunnel connections: a renamed copy of one (by hash) is worth a look. */
export const TUNNEL_TOOL_NAMES = [
  'ssh',
  'autossh',
  'socat',
  'nc',
  'ncat',
  'netcat',
  'nc.openbsd',
  'nc.traditional',
  'chisel',
  'frpc',
  'frps',
  'cloudflared',
  'ngrok',
  'gost',
  'bore',
  'sshuttle',
];

export const TUNNEL_DOMAINS = [
  'ngrok.io',
  'ngrok-free.app',
  'ngrok.app',
  'ngrok.com',
  'trycloudflare.com',
  'argotunnel.com',
  'localto.net',
  'serveo.net',
  'localtunnel.me',
  'pagekite.me',
  'devtunnels.ms',
  'loca.lt',
  'bore.pub',
];

/** The sensor's own processes: killing them is tampering. */
export const SENSOR_PROCESS_NAMES = ['bpftrace', 'vigil', 'nats-server', 'vigil-sensor'];

/** Directories whose executables name the tool they are (a copy elsewhere is known by its hash). */
export const TOOL_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];

/**
 * Tools a renamed copy of which matters: network clients and relays, shells and interpreters. The
 * sensor reports reference hashes of the host's own copies (`exe.reference`); the same list lives in
 * the sensor's reference set.
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
];
