import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { TOOL_DIRS, type ConfigEventV1 } from '@vigil/schema';

export type ConfigReason = ConfigEventV1['config']['reason'];

/** A file a process may have read its configuration from, and why the sensor thinks so. */
export interface ConfigCandidate {
  path: string;
  reason: ConfigReason;
  /** Named by the process itself (an argument): reported even when it is missing. Others only when found. */
  named: boolean;
  /** An ssh config: the files its `Include` lines name are read too (ssh-include.ts). */
  ssh?: true;
}

/** What candidate selection knows of a process at its exec. */
export interface ExecFacts {
  argv: readonly string[];
  /** The image that runs (absolute). */
  exe: string;
  /**
   * The file execve was given when it is not the image (a script run through its `#!` interpreter):
   * the program the user started, so a script miner's config.json is looked for beside it.
   */
  script?: string;
  /** Its working directory, read from /proc/<pid>/cwd while it lived; undefined when unknown. */
  cwd?: string;
  /** The user's home from the passwd database (for ssh's ~/.ssh/config); undefined when unknown. */
  home?: string;
}

/** Extensions of a file given as the lone positional argument, or as `-c`'s value, that make it a config. */
export const CONFIG_EXTENSIONS = ['.json', '.toml', '.ini', '.yaml', '.yml', '.conf', '.cfg'];
/** Options whose value is a config file, for any program. */
const CONFIG_OPTIONS = ['--config', '-config', '--config-file', '-config-file'];
/** Config files a miner or tunnel started without arguments reads from beside itself or its cwd. */
const IMPLICIT_NAMES = ['config.json', 'config.toml'];
/** Files ssh reads when not given -F. */
export const SSH_SYSTEM_CONFIG = '/etc/ssh/ssh_config';
const SSH_NAMES = ['ssh', 'autossh'];
/** ssh options that take a value as the next argument (so that value is not the host). */
const SSH_VALUE_OPTS = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));
/** A forward spec as -L/-R/-D take it: [bind:]port[:host:hostport] (`ls -R /tmp` is not one). */
const FORWARD_SPEC = /^(?:\[[0-9a-fA-F:.]+\]:|[\w.*-]*:)?\d{1,5}(?::|$)/;

/** A file name with a config extension (no whitespace: `sh -c 'echo > a.conf'` is a command). */
const hasConfigExtension = (p: string) =>
  !/\s/.test(p) && CONFIG_EXTENSIONS.some((ext) => p.toLowerCase().endsWith(ext));

/**
 * Whether the argv has ssh's shape whatever the program is called: a forward option (-R/-L/-D, the
 * value attached or next) with a forward spec, or `-o Key=Value`, or -J/-F, before a host.
 */
export function sshShaped(argv: readonly string[]): boolean {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^-([RLDJFo])(.*)$/.exec(a);
    if (!m) continue;
    const value = m[2] !== '' ? m[2]! : (argv[i + 1] ?? '');
    if ('RLD'.includes(m[1]!) && FORWARD_SPEC.test(value)) return true;
    if (m[1] === 'o' && /^[A-Za-z]+=/.test(value)) return true;
    if ((m[1] === 'J' || m[1] === 'F') && value !== '' && !value.startsWith('-')) return true;
  }
  return false;
}

/** The value ssh's `-F` names (attached or next), or undefined. */
function sshConfigOption(argv: readonly string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (!a.startsWith('-') || a.length < 2) return undefined;
    // Flags may be grouped (-NF cfg, -Fcfg): the first option that takes a value ends the group.
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (!SSH_VALUE_OPTS.has(c)) continue;
      const value = j + 1 < a.length ? a.slice(j + 1) : argv[i + 1];
      if (c === 'F') return value;
      if (j + 1 >= a.length) i++;
      break;
    }
  }
  return undefined;
}

/** Values of the generic config options, `-c FILE.ext`, and a lone positional config file. */
function argumentConfigs(argv: readonly string[]): string[] {
  const out: string[] = [];
  const positional: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    if (eq > 0 && CONFIG_OPTIONS.includes(a.slice(0, eq))) {
      out.push(a.slice(eq + 1));
      continue;
    }
    if (CONFIG_OPTIONS.includes(a) || a === '-c') {
      const value = argv[i + 1];
      // `-c` is a command for shells and interpreters: only a config file's name counts.
      if (value !== undefined && (a !== '-c' || hasConfigExtension(value))) out.push(value);
      if (value !== undefined) i++;
      continue;
    }
    if (!a.startsWith('-')) positional.push(a);
  }
  if (positional.length === 1 && hasConfigExtension(positional[0]!)) out.push(positional[0]!);
  return out.filter((p) => p !== '' && !p.includes('\0'));
}

const absolute = (p: string, cwd: string | undefined): string | undefined =>
  isAbsolute(p) ? resolve(p) : cwd !== undefined ? resolve(cwd, p) : undefined;

/**
 * Started with no arguments of its own: argv is the program alone, or for a `#!` script the kernel's
 * rewritten argv (`interpreter [its option] script`) ends at the script.
 */
function withoutArguments(p: ExecFacts): boolean {
  if (p.argv.length <= 1) return true;
  if (p.script === undefined) return false;
  const at = p.argv.findIndex((a, i) => i > 0 && (a === p.script || basename(a) === basename(p.script!)));
  return at > 0 && at <= 2 && at === p.argv.length - 1;
}

/** The installed tools' directories: a program there started without arguments is the host's own. */
const inToolDir = (exe: string) => TOOL_DIRS.includes(dirname(exe));

/**
 * The files a process was likely started with, in the order they are read: arguments naming a config
 * (relative ones against its cwd), ssh's user and system config when it is ssh by name or shape and
 * no -F was given, and config.json / config.toml beside a program outside the system's tool
 * directories that was started with no arguments, or in its cwd (where xmrig-style miners look).
 */
export function configCandidates(p: ExecFacts): ConfigCandidate[] {
  const out: ConfigCandidate[] = [];
  const add = (path: string | undefined, reason: ConfigReason, named: boolean, ssh = false) => {
    if (path !== undefined && path.length <= 4096 && !out.some((c) => c.path === path))
      out.push({ path, reason, named, ...(ssh ? { ssh: true as const } : {}) });
  };
  const name = basename(p.exe);
  const argv0 = basename(p.argv[0] ?? '');
  const isSsh = SSH_NAMES.includes(name) || SSH_NAMES.includes(argv0) || sshShaped(p.argv);
  const sshFile = isSsh ? sshConfigOption(p.argv) : undefined;
  if (sshFile !== undefined) add(absolute(sshFile, p.cwd), 'argument', true, true);
  for (const a of argumentConfigs(p.argv)) add(absolute(a, p.cwd), 'argument', true);
  if (isSsh && sshFile === undefined) {
    if (p.home !== undefined && isAbsolute(p.home)) add(resolve(p.home, '.ssh/config'), 'ssh-config', false, true);
    add(SSH_SYSTEM_CONFIG, 'ssh-config', false, true);
  }
  const program = p.script !== undefined && isAbsolute(p.script) ? p.script : p.exe;
  if (withoutArguments(p) && isAbsolute(program) && !inToolDir(program)) {
    for (const n of IMPLICIT_NAMES) add(resolve(dirname(program), n), 'beside-exe', false);
    if (p.cwd !== undefined) for (const n of IMPLICIT_NAMES) add(resolve(p.cwd, n), 'cwd', false);
  }
  return out;
}
