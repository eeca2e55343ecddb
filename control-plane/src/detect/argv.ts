import type { AncestorV1, EventV1, ProcessV1 } from '@vigil/schema';
import { WRITABLE_PLACES } from './indicators.js';
import { imageOf } from './define.js';

export const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** The argv an event is about: the new image's for an exec, the process's otherwise. */
export const argvOf = (ev: EventV1): string[] => (ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv);

/** The dynamic loader's own file names: ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld-musl-x86_64.so.1, ld.so. */
const LOADER = /^ld(?:-linux[\w-]*|-musl-\w+)?\.so(?:\.\d+)*$/;
/** ld.so options that take the next argument as their value (glibc's rtld usage). */
const LOADER_OPTIONS_WITH_VALUE = new Set([
  '--library-path',
  '--preload',
  '--audit',
  '--argv0',
  '--inhibit-rpath',
  '--glibc-hwcaps-prefix',
  '--glibc-hwcaps-mask',
]);

/**
 * The program a dynamic loader was asked to run (`ld.so [OPTIONS] PROGRAM ARGS`), or null when `exe`
 * is no loader. The kernel sees the loader as the image; seen on a real GPU host, where the
 * monitoring runs /bin/nvidia-smi so, and a known way to run a binary past exe-based allow lists.
 */
export function loadedProgram(exe: string, argv: readonly string[]): string | null {
  if (!LOADER.test(basename(exe))) return null;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (LOADER_OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('--')) return arg;
  }
  return null;
}

/** The image an event is about: the program, when the image is the dynamic loader running one. */
export const exeOf = (ev: EventV1): string => {
  const exe = imageOf(ev);
  return loadedProgram(exe, argvOf(ev)) ?? exe;
};

export const commandLine = (argv: readonly string[]): string => argv.join(' ');

/*
 * Most built-in detections ask the same questions of an event (its names, its command line, the hosts
 * in it): each answer is computed once and kept beside the event (or its argv array) until it is
 * collected. Validated events are never changed, so a kept answer stays true; these are for their
 * argv only (an array changed after its line was kept would read stale: commandLine is the one for
 * any other).
 */
const commandLines = new WeakMap<readonly string[], string>();
const names = new WeakMap<EventV1, ReadonlySet<string>>();
const hostLists = new WeakMap<readonly string[], readonly string[]>();

/** commandLine of an event's argv, computed once per argv. */
export function eventCommandLine(argv: readonly string[]): string {
  let line = commandLines.get(argv);
  if (line === undefined) commandLines.set(argv, (line = commandLine(argv)));
  return line;
}

/** Names a process answers to: its exe's basename, argv[0]'s basename and comm (lower case). */
export function namesOf(ev: EventV1): ReadonlySet<string> {
  let set = names.get(ev);
  if (set === undefined) {
    const argv = argvOf(ev);
    set = new Set(
      [basename(exeOf(ev)), basename(argv[0] ?? ''), ev.proc.comm].filter(Boolean).map((n) => n.toLowerCase()),
    );
    names.set(ev, set);
  }
  return set;
}

export const inWritablePlace = (path: string): boolean => WRITABLE_PLACES.some((re) => re.test(path));

export function nearestAncestor(proc: ProcessV1, pred: (a: AncestorV1) => boolean): AncestorV1 | undefined {
  return proc.ancestry.find(pred);
}

/** Decoded text of argv tokens that look like base64 (droppers hide miner arguments so). */
export function base64Payloads(argv: string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    for (const token of arg.split(/[\s'"|;&]+/)) {
      if (token.length < 12 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) continue;
      const text = Buffer.from(token, 'base64').toString('latin1');
      // Mostly printable: a real payload, not a hash or random id.
      const printable = text.replace(/[^\x20-\x7e\n\t]/g, '').length;
      if (printable >= text.length * 0.9) out.push(text);
    }
  }
  return out;
}

/** Dotted names in a text (lower case): what could be a host. */
export function hostsIn(text: string): string[] {
  return Array.from(text.toLowerCase().matchAll(/([a-z0-9-]+(?:\.[a-z0-9-]+)+)/g), (m) => m[1]!);
}

/** hostsIn of an event's argv, computed once per argv. */
export function eventHosts(argv: readonly string[]): readonly string[] {
  let hosts = hostLists.get(argv);
  if (hosts === undefined) hostLists.set(argv, (hosts = hostsIn(eventCommandLine(argv))));
  return hosts;
}

/** The suffix of `suffixes` that `host` is or is under. */
export const domainMatches = (host: string, suffixes: readonly string[]): string | undefined =>
  suffixes.find((s) => host.endsWith(s) && (host.length === s.length || host[host.length - s.length - 1] === '.'));

/** An interpreter's inline code: the operand of `-c` (python), `-e`/`-E` (perl, ruby, node), `-r` (php). */
export function inlineCode(argv: readonly string[]): string {
  const at = argv.findIndex((a, i) => i > 0 && /^-[a-zA-Z]*[ceEr]$/.test(a));
  return at < 0 ? '' : (argv[at + 1] ?? '');
}
