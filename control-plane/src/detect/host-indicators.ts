/**
 * Indicator lists for the rules about what a process does to the host's data and start-up (exfil.*,
 * cred.*, persist.*, the tamper rule's process controls). Data, not if-chains: a new indicator is a
 * line here; each list names where it comes from. Fixed at build time like indicators.ts.
 */
import type { Severity } from '@vigil/schema';

/**
 * Files that hold credentials, as paths or path tails (MITRE ATT&CK T1552.001 "Credentials In
 * Files", T1552.004 "Private Keys"; the stores of the clients an ML host runs: ssh, AWS, git, gh,
 * Hugging Face, kubectl, docker, gcloud, azure, pip/npm, W&B's key in ~/.netrc). A directory alone
 * (`.ssh`, `.aws`) counts: archiving it takes every key in it. Public keys and known_hosts do not.
 */
export const CREDENTIAL_PATHS: readonly RegExp[] = [
  /(?:^|\/)\.ssh\/?$/,
  /(?:^|\/)\.ssh\/(?:id_[^/]*|[^/]*_key|[^/]*\.pem)$/,
  /^\/etc\/ssh\/ssh_host_[^/]*_key$/,
  /(?:^|\/)\.aws(?:\/(?:credentials|config))?\/?$/,
  /(?:^|\/)\.netrc$/,
  /(?:^|\/)\.git-credentials$/,
  /(?:^|\/)\.config\/gh\/hosts\.yml$/,
  /(?:^|\/)(?:\.cache\/)?huggingface\/(?:token|stored_tokens)$/,
  /(?:^|\/)\.kube\/config$/,
  /(?:^|\/)\.docker\/config\.json$/,
  /(?:^|\/)\.config\/gcloud(?:\/|$)/,
  /(?:^|\/)\.azure(?:\/|$)/,
  /(?:^|\/)\.gnupg(?:\/|$)/,
  /(?:^|\/)\.(?:pgpass|pypirc|npmrc|vault-token)$/,
  /^\/etc\/g?shadow$/,
  /^\/proc\/(?:\d+|self)\/environ$/,
];

/** A public key or host list: named like a key file, but nothing secret. */
const NOT_SECRET = /\.pub$|(?:^|\/)known_hosts(?:\.old)?$/;

/** The credential path an argument names (also inside `-F f=@path`, `OPEN:path`, `--x=path`), if any. */
export function credentialIn(arg: string): string | undefined {
  for (const part of [arg, ...arg.split(/[=@<:,]/)]) {
    const p = part.trim();
    if (p && !NOT_SECRET.test(p) && CREDENTIAL_PATHS.some((re) => re.test(p))) return p;
  }
  return undefined;
}

/**
 * Programs that turn files into a byte stream worth sending (GTFOBins "file read" entries; MITRE
 * T1560.001 "Archive via Utility"): a pipe from one of them into a network client is data leaving.
 * Plain readers (cat, head, tail, dd) count only when they read a credential file: `cat metrics.json |
 * curl -d @-` is how a job posts its metrics.
 */
export const ARCHIVERS = [
  'tar',
  'zip',
  'gzip',
  'pigz',
  'bzip2',
  'xz',
  'zstd',
  '7z',
  '7za',
  'base64',
  'base32',
  'basenc',
  'xxd',
  'od',
  'hexdump',
  'gpg',
  'openssl',
  'split',
];
export const FILE_READERS = ['cat', 'head', 'tail', 'dd', 'tac', 'less', 'more', 'strings'];

/**
 * Files that make code run again later: at login, at boot, on a schedule, or on every program start
 * (MITRE T1098.004 SSH Authorized Keys, T1574.006 Dynamic Linker Hijacking, T1546.004 Unix Shell
 * Configuration Modification, T1543.002 Systemd Service, T1053.003 Cron, T1037 Boot or Logon
 * Initialization Scripts, T1548.003 Sudo, T1546.018 Python Startup Hooks; git hooks run on the
project's next git command). `rank` is the rubric's: a new login path for anyone with
 * the key or root is high, a preload into every process (the sensor's own runtime included) critical,
 * the rest medium: operators edit their dotfiles, units and cron.d too.
 */
export const PERSISTENCE_PATHS: readonly { re: RegExp; what: string; rank: Severity }[] = [
  {
    re: /^\/etc\/ld\.so\.preload$/,
    what: 'the dynamic linker preload list (loaded into every program)',
    rank: 'critical',
  },
  {
    re: /(?:^|\/)\.ssh\/authorized_keys2?$/,
    what: 'an ssh authorized_keys file (a login for whoever holds the key)',
    rank: 'high',
  },
  { re: /^\/etc\/sudoers(?:\.d\/.*)?$/, what: 'the sudoers policy', rank: 'high' },
  {
    re: /(?:^|\/)\.(?:bashrc|bash_profile|bash_login|bash_logout|profile|zshrc|zprofile|zshenv|zlogin)$|(?:^|\/)\.config\/fish\/config\.fish$|^\/etc\/(?:profile|bash\.bashrc|environment|profile\.d\/.*)$/,
    what: 'a shell start-up file (runs at every login)',
    rank: 'medium',
  },
  {
    re: /(?:^|\/)\.config\/systemd\/user\/.+|^\/(?:etc|usr\/lib|lib)\/systemd\/(?:system|user)\/.+/,
    what: 'a systemd unit (runs at boot, login or on a timer)',
    rank: 'medium',
  },
  {
    re: /^\/etc\/(?:crontab|cron\.(?:d|hourly|daily|weekly|monthly)\/.+)$|^\/var\/spool\/cron\/.+/,
    what: 'a cron table (runs on a schedule)',
    rank: 'medium',
  },
  {
    re: /\/site-packages\/[^/]+\.pth$|(?:^|\/)(?:sitecustomize|usercustomize)\.py$/,
    what: 'a Python start-up hook (runs in every python of that environment, the job included)',
    rank: 'medium',
  },
  {
    re: /(?:^|\/)\.git\/hooks\/[^/]+$/,
    what: 'a git hook (runs at the next commit, checkout or push)',
    rank: 'medium',
  },
  {
    re: /^\/etc\/(?:rc\.local|init\.d\/.+)$|(?:^|\/)\.config\/autostart\/.+/,
    what: 'a boot or session start-up script',
    rank: 'medium',
  },
];

/**
 * Programs that change how another process runs when handed its pid: tracers attach with ptrace and
 * stop it while attached (a blind probe); schedulers and limiters starve it or cut its resources
 * (a probe that cannot keep up loses events). MITRE T1562.001 "Impair Defenses".
 */
export const PROCESS_CONTROLS: Readonly<Record<string, { rank: Severity; effect: string }>> = {
  gdb: { rank: 'critical', effect: 'attaches with ptrace and stops it while attached' },
  strace: { rank: 'critical', effect: 'attaches with ptrace (it stops at each traced call)' },
  ltrace: { rank: 'critical', effect: 'attaches with ptrace (it stops at each traced call)' },
  gcore: { rank: 'critical', effect: 'stops it to dump its memory' },
  renice: { rank: 'high', effect: 'lowers its CPU priority (a starved probe loses events)' },
  chrt: { rank: 'high', effect: 'changes its scheduling policy (a starved probe loses events)' },
  taskset: { rank: 'high', effect: 'pins it to chosen CPUs (a starved probe loses events)' },
  ionice: { rank: 'high', effect: 'lowers its I/O priority' },
  prlimit: { rank: 'high', effect: 'changes its resource limits (a CPU or file limit kills or blinds it)' },
  cpulimit: { rank: 'high', effect: 'throttles its CPU time (a starved probe loses events)' },
};
