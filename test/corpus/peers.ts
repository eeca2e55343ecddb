/**
 * The loopback peers the corpus talks to: a sink that answers a shell with `exit` (a reverse shell's
 * listener), an HTTP server that serves a shell payload at /x and "ok" elsewhere, and a mining pool
 * stand-in on 127.0.0.1:443 that speaks stratum JSON-RPC (login, then accepts shares).
 */
import { createServer as createHttp } from 'node:http';
import { createServer, type Server } from 'node:net';

export interface Peers {
  sink: number;
  http: number;
  /** What GET /x answers. */
  setPayload: (body: string) => void;
  close: () => Promise<void>;
}

const listen = (server: Server | ReturnType<typeof createHttp>, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });

const POOL_LOGIN = {
  id: 1,
  jsonrpc: '2.0',
  error: null,
  result: {
    id: '7b1c',
    job: { blob: `0707${'ab'.repeat(38)}`, job_id: 'j1', target: 'b88d0600', algo: 'rx/0', height: 3100000 },
    status: 'OK',
  },
};

export async function startPeers(): Promise<Peers> {
  const sink = createServer((s) => {
    s.on('error', () => undefined);
    setTimeout(() => s.write('exit\n', () => undefined), 200);
    setTimeout(() => s.destroy(), 1500);
  });
  let payload = 'true\n';
  const http = createHttp((req, res) => res.end(req.url === '/x' ? payload : 'ok\n'));
  const pool = createServer((s) => {
    s.on('error', () => undefined);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let msg: { id?: number; method?: string } = {};
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          s.destroy();
          return;
        }
        const reply =
          msg.method === 'login'
            ? POOL_LOGIN
            : { id: msg.id ?? 0, jsonrpc: '2.0', error: null, result: { status: 'OK' } };
        s.write(`${JSON.stringify(reply)}\n`);
      }
    });
    setTimeout(() => s.destroy(), 3000);
  });
  const ports = { sink: await listen(sink, 0), http: await listen(http, 0) };
  await listen(pool, 443).catch((err: Error) => {
    throw new Error(`the pool stand-in needs 127.0.0.1:443: ${err.message}`);
  });
  return {
    ...ports,
    setPayload: (body) => {
      payload = body;
    },
    close: async () => {
      for (const s of [sink, http, pool]) await new Promise((r) => s.close(() => r(undefined)));
    },
  };
}
