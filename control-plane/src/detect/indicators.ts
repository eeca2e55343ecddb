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

/**
 * Ports pools commonly listen on: weak alone. The web and dev-server ports (80, 443, 8000, 8080, 8888,
 * …) are not here: vLLM, MLflow, Jupyter and every dev server use them, and a pool on them is known by
 * its name (DNS) or its protocol instead.
 */
export const POOL_PORTS = [
  2020, 3333, 3334, 3335, 3336, 3353, 3357, 4444, 5555, 5556, 5588, 5730, 6099, 6666, 7777, 7778, 8118, 8333, 8899,
  9332, 9999, 14433, 14444, 20535, 45560, 45700,
];

/**
 * Flags that alone say "miner" (xmrig, T-Rex, lolMiner, SRBMiner…). Generic ones (`--algorithm`,
 * `--cuda-devices`, `--no-cpu`) are not: RL trainers take `--algorithm grpo`; an algorithm counts
 * only when it is a mining one (MINER_ALGOS) beside pool or user arguments.
 */
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
  '--wallet',
];

/**
 * Programs that read, search or show text: a miner indicator in their arguments is what is being
 * looked for, not what is being run (`grep -r stratum+tcp`, `rg xmrig`, `journalctl -g`, `vim pool.json`).
 */
export const TEXT_TOOLS = [
  'grep',
  'egrep',
  'fgrep',
  'zgrep',
  'rg',
  'ag',
  'ack',
  'find',
  'fd',
  'locate',
  'cat',
  'less',
  'more',
  'head',
  'tail',
  'bat',
  'vi',
  'vim',
  'nvim',
  'nano',
  'emacs',
  'code',
  'git',
  'journalctl',
  'sed',
  'awk',
  'gawk',
  'strings',
  'file',
  'ls',
  'man',
  'diff',
  'wc',
  'sort',
  'jq',
  'dig',
  'host',
  'nslookup',
  'drill',
];

/** Dynamic launchers of training jobs: what they start, at any depth, is the job's. */
export const JOB_LAUNCHERS = ['torchrun', 'deepspeed', 'accelerate', 'srun', 'slurmstepd', 'mpirun', 'horovodrun'];

/** Compilers and linkers whose `-o PATH` is a binary built on this host (make's own -o means something else). */
export const COMPILERS = [
  'nvcc',
  'gcc',
  'g++',
  'cc',
  'c++',
  'clang',
  'clang++',
  'ld',
  'ld.lld',
  'ld.gold',
  'cicc',
  'ptxas',
  'nvlink',
  'collect2',
  'rustc',
  'go',
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

/** Defined in the schema: the sensor hashes the host's own copies of the same tools (`exe.reference`). */
export { KNOWN_TOOLS, TOOL_DIRS } from '@vigil/schema';

/** Interpreters that can serve as a shell (a reverse shell's payload): by basename. */
export const INTERPRETERS = [
  /^python[\d.]*$/,
  /^pypy[\d.]*$/,
  /^perl[\d.]*$/,
  /^ruby[\d.]*$/,
  /^irb$/,
  /^php[\d.]*(?:-cli|-cgi)?$/,
  /^node(?:js)?$/,
  /^lua(?:jit|[\d.]*)$/,
  /^[gmn]?awk$/,
  /^tclsh[\d.]*$/,
  /^expect$/,
  /^pwsh$/,
];

/** Tools that move raw bytes over a socket: feeding a shell from one is a remote shell. */
export const RAW_SOCKET_TOOLS = ['nc', 'ncat', 'netcat', 'nc.openbsd', 'nc.traditional', 'socat', 'openssl', 'telnet'];

/**
 * Programs that give a shell a terminal for a person: a shell on a pty under one of them is a login,
 * a multiplexer pane, an IDE or notebook terminal. Matched on the parent's basename, or for an
 * interpreter parent on its script (argv[1]'s basename).
 */
export const INTERACTIVE_HOSTS = [
  /^sshd(?:-session)?$/,
  /^tmux/,
  /^screen$/,
  /^login$/,
  /^su$/,
  /^sudo$/,
  /^script$/,
  /^(?:gnome-terminal|xfce4-terminal|mate-terminal|konsole|xterm|urxvt|alacritty|kitty|wezterm|tilix|terminator)/,
  /^code-server$/,
  /^(?:jupyter|ipykernel|terminado)/,
  /^mosh-server$/,
];

/** Script paths of interactive hosts run by an interpreter (VS Code Remote's server, Jupyter). */
export const INTERACTIVE_HOST_SCRIPTS = [/\/\.vscode-server\//, /\/\.cursor-server\//, /\bjupyter/, /\bipykernel/];

/**
 * Installed services handed an accepted connection on stdin/stdout (sshd's re-exec and its session
 * process): socket stdio is how they work. By path, so a copy elsewhere is not one.
 */
export const SOCKET_STDIO_SERVICES = [
  /^\/usr\/s?bin\/sshd$/,
  /^\/usr\/lib(?:exec)?\/openssh\/sshd-(?:session|auth)$/,
  /^\/usr\/s?bin\/in\.[a-z]+d$/,
];

/** Ports of ordinary web traffic: to a named host, a download or an API call, not a remote shell. */
export const WEB_PORTS = [80, 443];

/** Tools that copy a file into place: a binary run right after one wrote it was dropped, then run. */
export const PLACERS = ['cp', 'install', 'mv', 'rsync'];
