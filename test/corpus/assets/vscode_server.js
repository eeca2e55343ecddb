// A VS Code Remote server stand-in (~/.vscode-server/bin/<commit>/node server-main.js): it listens
// on a loopback port for the client's tunnel, forks its pty host, and the pty host starts the
// integrated terminal (bash on a pty, through script(1) here where node-pty is not built).
const { spawn, fork } = require('node:child_process');
const net = require('node:net');

if (process.argv[2] === '--type=ptyHost') {
  const term = spawn('/usr/bin/script', ['-q', '-c', '/bin/bash --norc -i', '/dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, TERM: 'xterm-256color', VSCODE_IPC_HOOK_CLI: '/tmp/vscode-ipc.sock' },
  });
  term.stdout.on('data', () => {});
  term.stdin.write('echo $TERM_PROGRAM; nproc; exit\n');
  term.on('exit', (code) => process.exit(code ?? 0));
} else {
  const server = net.createServer((c) => c.end('HTTP/1.1 101 Switching Protocols\r\n\r\n'));
  server.listen(Number(process.argv[2]), '127.0.0.1', () => {
    const client = net.connect(Number(process.argv[2]), '127.0.0.1', () => client.write('GET / HTTP/1.1\r\n\r\n'));
    client.on('data', () => {});
    const pty = fork(__filename, ['--type=ptyHost']);
    pty.on('exit', () => {
      client.destroy();
      server.close();
    });
  });
}
