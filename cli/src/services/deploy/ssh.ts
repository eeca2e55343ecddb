/**
 * Commands on a target over the user's own ssh binary: their agent, keys, known_hosts and ssh config
 * apply; BatchMode makes a missing key or an unknown host key an error instead of a prompt.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Target } from './targets.js';

export class RemoteError extends Error {
  override name = 'RemoteError';
}

export interface SshSettings {
  /** An ssh_config file (`ssh -F`); else the user's. */
  configFile?: string;
  connectTimeoutS: number;
}

export const sshArgs = (t: Target, s: SshSettings): string[] => [
  ...(s.configFile ? ['-F', s.configFile] : []),
  ...(t.port ? ['-p', String(t.port)] : []),
  '-o',
  'BatchMode=yes',
  '-o',
  `ConnectTimeout=${s.connectTimeoutS}`,
  '--',
  t.destination,
];

/**
 * Runs `script` with sh on the target (the script on ssh's stdin, after `stdinFile`'s bytes when given:
 * then the script is the command line itself). Resolves with stdout; rejects with the end of stderr.
 */
export function remote(
  t: Target,
  s: SshSettings,
  script: string,
  opts: { stdinFile?: string; timeoutMs?: number } = {},
): Promise<string> {
  const args = opts.stdinFile ? [...sshArgs(t, s), script] : [...sshArgs(t, s), 'sh -s'];
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.once('error', (cause) => {
      clearTimeout(timer);
      reject(new RemoteError(`cannot run ssh: ${cause.message}`, { cause }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const why = err.trim().split('\n').slice(-3).join(' / ') || out.trim().split('\n').slice(-1)[0] || '';
        reject(
          new RemoteError(signal ? `ssh was stopped (${signal}, timed out)` : `exit ${code}${why ? `: ${why}` : ''}`),
        );
      }
    });
    child.stdin.on('error', () => {});
    if (opts.stdinFile)
      createReadStream(opts.stdinFile)
        .once('error', (cause) => {
          child.kill('SIGKILL');
          reject(new RemoteError(`cannot read ${opts.stdinFile}: ${cause.message}`, { cause }));
        })
        .pipe(child.stdin);
    else child.stdin.end(script);
  });
}
