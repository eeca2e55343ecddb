import { defineDetection } from '../define.js';
import { SOCKET_STDIO_SERVICES } from '../indicators.js';
import { isLoopback, shellOf, socketFds } from './behaviour.js';
import { describeSocketStdio } from './shell-reverse.js';

/**
 * A program other than a shell started with its stdio on a socket to a peer off this host: a
 * `while read` loop or a `cat` relaying a remote's input, a payload reading commands. Medium: a
 * program's stdio on a socket is also how inetd-style services work. Loopback raises nothing: the
 * `cat </dev/null >/dev/tcp/127.0.0.1/8000` wait-for-port idiom is everyday work.
 */
export const execSocketStdio = defineDetection({
  id: 'exec.socket-stdio',
  title: 'Program with a network socket for its stdio',
  severity: 'medium',
  mitre: ['T1059', 'T1071'],
  on: ['exec'],
  description: 'A program (not a shell: shell.reverse) exec’d with fd 0, 1 or 2 a socket to a peer off this host.',
  match(ev, ctx) {
    const far = socketFds(ev).filter((f) => !isLoopback(f.remote.addr));
    if (far.length === 0) return null;
    // Installed services handed their connection on stdio (sshd's re-exec) by path; a copy elsewhere is not one.
    if (SOCKET_STDIO_SERVICES.some((re) => re.test(ev.proc.exe))) return null;
    if (shellOf(ev, ctx)) return null;
    return {
      reason: `${ev.proc.exe || ev.proc.comm} (pid ${ev.proc.pid}) started and its ${describeSocketStdio(far, far[0]!, false)}`,
    };
  },
});
