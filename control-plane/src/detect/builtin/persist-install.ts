import { SEVERITIES, type ExecEventV1, type Severity } from '@vigil/schema';
import { defineDetection } from '../define.js';
import { basename, eventCommandLine, inlineCode, namesOf } from '../argv.js';
import { INTERPRETERS, SHELLS } from '../indicators.js';
import { PERSISTENCE_PATHS } from '../host-indicators.js';
import { stdioFd } from './behaviour.js';
import { isPython } from './gpu-expectation.js';

/** Programs that write a file named by their arguments, and which of their operands they write. */
const WRITERS: Record<string, (operands: string[], argv: readonly string[]) => string[]> = {
  tee: (ops) => ops,
  cp: (ops, argv) => targetOf(ops, argv),
  mv: (ops, argv) => targetOf(ops, argv),
  install: (ops, argv) => targetOf(ops, argv),
  ln: (ops, argv) => targetOf(ops, argv),
  rsync: (ops) => ops.slice(-1),
  dd: (_ops, argv) => argv.filter((a) => a.startsWith('of=')).map((a) => a.slice(3)),
  sed: (ops, argv) => (argv.some((a) => /^-[a-zA-Z]*i/.test(a) || a.startsWith('--in-place')) ? ops : []),
  curl: (_ops, argv) => valuesOf(argv, ['-o', '--output']),
  wget: (_ops, argv) => valuesOf(argv, ['-O', '--output-document']),
};

/** cp/mv/install/ln: the `-t DIR` target, else the last operand. */
function targetOf(ops: string[], argv: readonly string[]): string[] {
  const t = valuesOf(argv, ['-t', '--target-directory']);
  return t.length > 0 ? t : ops.length > 1 ? ops.slice(-1) : [];
}

function valuesOf(argv: readonly string[], flags: string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (flags.includes(a) && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
    for (const f of flags) if (f.startsWith('--') && a.startsWith(`${f}=`)) out.push(a.slice(f.length + 1));
  });
  return out;
}

/** The script of `sh -c SCRIPT` (also `-lc`, `-ec` …), when the program is a shell. */
function shellScript(names: ReadonlySet<string>, argv: readonly string[]): string | undefined {
  if (!SHELLS.some((s) => names.has(s))) return undefined;
  const at = argv.findIndex((a, i) => i > 0 && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(a));
  return at > 0 ? argv[at + 1] : undefined;
}

/**
 * The files a shell script writes by redirection (`>`, `>>`, `>|`, `&>`, `2>`): the shell's own
 * write, which runs no program (`echo KEY >> ~/.ssh/authorized_keys` has no exec of its own). A
 * descriptor copy (`2>&1`) is none; quotes around the path are taken off.
 */
function redirectTargets(script: string): string[] {
  return Array.from(
    script.matchAll(/(?:^|[^<>&\d])(?:\d|&)?>>?\|?\s*(["']?)([^\s;&|<>"'()]+)\1/g),
    (m) => m[2]!,
  ).filter((t) => !t.startsWith('&'));
}

/** Inline code that writes files: an open for writing or appending, a write call, perl's `>>`. */
const WRITES_IN_CODE =
  /open\s*\([^)]*,\s*['"][wax]|\.write(?:_text|_bytes)?\s*\(|appendFile|writeFile|File\.(?:write|open)|>>/;

/**
 * Where inline code opens a file, as its string literals say: the first literal inside open(),
 * Path(), expanduser(), appendFile…(), writeFile…(); a literal joined on with `+` (node's
 * `homedir() + '/.bashrc'`); perl's `">>FILE"` and `">>", "FILE"`. A path only mentioned in the data
 * written is not one.
 */
const OPENED_IN_CODE = [
  /(?:open|Path|expanduser|appendFileSync|appendFile|writeFileSync|writeFile)\s*\(\s*[^'"()]*?\(?\s*['"]([^'"]+)['"]/g,
  /\+\s*['"]([^'"]+)['"]/g,
  /['"]>>?\s*([^'">][^'"]*)['"]/g,
  /['"]>>?['"]\s*,\s*['"]([^'"]+)['"]/g,
];

/**
 * The persistence files an interpreter's inline code opens and writes: `python -c "open(os.path.
 * expanduser('~/.ssh/authorized_keys'), 'a').write(KEY)"`, `perl -e 'open F, ">>$ENV{HOME}/.bashrc"'`.
 */
function inlineWrites(names: ReadonlySet<string>, argv: readonly string[]): string[] {
  if (![...names].some((n) => INTERPRETERS.some((re) => re.test(n)))) return [];
  const code = inlineCode(argv);
  if (!WRITES_IN_CODE.test(code)) return [];
  const opened = OPENED_IN_CODE.flatMap((re) => Array.from(code.matchAll(re), (m) => m[1]!.trim()));
  return [...new Set([...opened, ...joinedPaths(code)])];
}

/**
 * The paths `os.path.join(…)`/`path.join(…)` builds from string literals: `join(os.environ['HOME'],
 * '.ssh', 'authorized_keys')` is `HOME/.ssh/authorized_keys`, enough to tell the file.
 */
function joinedPaths(code: string): string[] {
  return Array.from(code.matchAll(/join\s*\(/g), (m) => {
    const parts: string[] = [];
    let depth = 1;
    for (let i = m.index! + m[0].length; i < code.length && depth > 0; i++) {
      const c = code[i]!;
      if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (c === "'" || c === '"') {
        const end = code.indexOf(c, i + 1);
        if (end < 0) break;
        parts.push(code.slice(i + 1, end));
        i = end;
      }
    }
    return parts.join('/');
  });
}

/** Schedulers and service managers, and what in their command line installs something that runs later. */
function scheduled(names: ReadonlySet<string>, argv: readonly string[]): string | undefined {
  const args = argv.slice(1);
  if (names.has('crontab') && !args.some((a) => /^-[lrVh]$/.test(a)))
    return 'installs a cron table (runs on a schedule)';
  if ((names.has('at') || names.has('batch')) && !args.some((a) => /^-[lrdcV]$/.test(a)))
    return 'queues an at job (runs later, outside this session)';
  if (names.has('systemd-run') && args.some((a) => a.startsWith('--on-')))
    return 'creates a systemd timer (runs on a schedule)';
  if (
    names.has('systemctl') &&
    args.some((a) => ['enable', 'reenable', 'link', 'add-wants', 'add-requires'].includes(a))
  )
    return 'enables a systemd unit (runs at boot or login)';
  if (names.has('loginctl') && args.includes('enable-linger')) return "keeps the user's services running after logout";
  return undefined;
}

const shellByName = (p: { comm: string; exe: string }): boolean =>
  SHELLS.includes(p.comm) || SHELLS.includes(basename(p.exe));

/**
 * Run from an agent's tool call: the nearest shell above it (at most two levels up) was spawned by a
 * Python interpreter, and its stdin is no terminal (a person's terminal in Jupyter has one).
 */
function fromToolCall(ev: ExecEventV1): string | undefined {
  if (stdioFd(ev, 0)?.type === 'tty') return undefined;
  const anc = ev.proc.ancestry;
  // The shell itself, writing by redirection.
  if (shellByName(ev.proc) && anc[0] && isPython(anc[0]))
    return `run by ${ev.proc.comm} (pid ${ev.proc.pid}) that ${anc[0].comm} (pid ${anc[0].pid}) spawned`;
  const at = anc.slice(0, 2).findIndex(shellByName);
  const py = at >= 0 ? anc[at + 1] : undefined;
  return py && isPython(py)
    ? `run by ${anc[at]!.comm} (pid ${anc[at]!.pid}) that ${py.comm} (pid ${py.pid}) spawned`
    : undefined;
}

const up = (s: Severity): Severity => SEVERITIES[Math.min(SEVERITIES.indexOf(s) + 1, SEVERITIES.indexOf('critical'))]!;

/**
 * Something that makes code run again later: a cron table, an at job, a systemd timer or enabled
 * unit, or a write (tee, cp, mv, install, ln, dd, sed -i, rsync, curl -o, wget -O, or a `sh -c`
 * script's own `>`/`>>` redirection) to a file that runs at login, at boot, on a schedule or in every
 * program (authorized_keys, ld.so.preload, shell start-up files, units, cron directories, sudoers). A
 * redirection in a script file or an interactive shell is not in any command line and is not seen.
 */
export const persistInstall = defineDetection({
  id: 'persist.install',
  title: 'Persistence installed: code set to run at login, at boot or on a schedule',
  severity: 'medium',
  mitre: ['T1053.003', 'T1053.006', 'T1543.002', 'T1546.004', 'T1098.004', 'T1574.006'],
  on: ['exec'],
  description:
    'crontab, at, systemd-run --on-*, systemctl enable, loginctl enable-linger, or a file writer (or a sh -c redirection) aimed at authorized_keys, ld.so.preload, shell start-up files, systemd units, cron directories or sudoers.',
  ranks: {
    min: 'medium',
    max: 'critical',
    rule: 'by the file (ld.so.preload critical; authorized_keys, sudoers high; the rest medium), one step higher when an agent’s tool call (a shell a Python process spawned, stdin no terminal) does it',
  },
  match(ev) {
    if (ev.kind === 'exec' && ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    const names = namesOf(ev);
    const argv = ev.exec.argv;
    let what = scheduled(names, argv);
    let rank: Severity = 'medium';
    const writer = Object.keys(WRITERS).find((n) => names.has(n));
    const script = shellScript(names, argv);
    if (!what) {
      const operands = argv.slice(1).filter((a) => !a.startsWith('-') && !a.includes('='));
      const written = writer
        ? WRITERS[writer]!(operands, argv)
        : script
          ? redirectTargets(script)
          : inlineWrites(names, argv);
      for (const path of written) {
        const hit = PERSISTENCE_PATHS.find((p) => p.re.test(path));
        if (hit && SEVERITIES.indexOf(hit.rank) >= SEVERITIES.indexOf(rank)) {
          what = `writes ${path}, ${hit.what}`;
          rank = hit.rank;
        }
      }
    }
    if (!what) return null;
    const agent = fromToolCall(ev);
    return {
      reason: `${basename(ev.exec.filename || ev.proc.exe)} (pid ${ev.proc.pid}) ${what}${agent ? `; ${agent}: an agent's tool call` : ''}: \`${eventCommandLine(argv).slice(0, 200)}\``,
      severity: agent ? up(rank) : rank,
    };
  },
});
