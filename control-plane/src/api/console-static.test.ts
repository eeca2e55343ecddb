import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { requestGuard } from './guard.js';
import { registerConsole } from './console-static.js';

const TOKEN = 'console-test-token';

async function app(dir: string) {
  const a = Fastify();
  a.addHook('onRequest', requestGuard({ bindHost: '127.0.0.1', token: TOKEN }));
  a.get('/api/v1/status', async () => ({ secret: 'data' }));
  await registerConsole(a, dir);
  return a;
}

const built = () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Vigil console</title>');
  writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
  return `${dir}/`;
};

test('/ui serves the page and its assets without the token; its routes fall back to the page', async () => {
  const a = await app(built());
  for (const url of ['/ui', '/ui/', '/ui/incidents', '/ui/incidents/no-such-id', '/ui/events?kind=exec']) {
    const r = await a.inject({ url, headers: { host: '127.0.0.1' } });
    assert.equal(r.statusCode, 200, url);
    assert.match(r.body, /Vigil console/, url);
  }
  const js = await a.inject({ url: '/ui/assets/index-abc.js', headers: { host: '127.0.0.1' } });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['content-type']), /javascript/);
  assert.match(String(js.headers['cache-control']), /immutable/);
});

test('the page and its assets go compressed to a client that accepts it; hashed assets are immutable, the page is not', async () => {
  const dir = built();
  const bundle = `export const rows = [${Array.from({ length: 2000 }, (_, i) => `{id:${i},kind:'exec'}`).join(',')}];`;
  writeFileSync(join(dir, 'assets', 'index-big.js'), bundle);
  const a = await app(dir);
  const get = (url: string, encoding?: string) =>
    a.inject({ url, headers: { host: '127.0.0.1', ...(encoding ? { 'accept-encoding': encoding } : {}) } });
  const br = await get('/ui/assets/index-big.js', 'gzip, deflate, br');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(brotliDecompressSync(br.rawPayload).toString(), bundle);
  assert.ok(br.rawPayload.length < bundle.length / 4, `${br.rawPayload.length} bytes of ${bundle.length}`);
  assert.match(String(br.headers['cache-control']), /max-age=31536000, immutable/);
  const gz = await get('/ui/assets/index-big.js', 'gzip');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.rawPayload).toString(), bundle);
  const plain = await get('/ui/assets/index-big.js');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body, bundle);
  const page = await get('/ui/incidents', 'br');
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.doesNotMatch(String(page.headers['cache-control']), /immutable/);
  // The API is left as it is: its server-sent events go out as they happen.
  const status = await a.inject({
    url: '/api/v1/status',
    headers: { host: '127.0.0.1', authorization: `Bearer ${TOKEN}`, 'accept-encoding': 'br' },
  });
  assert.equal(status.headers['content-encoding'], undefined);
});

test('the data still wants the token, however the path is spelled under /ui', async () => {
  const a = await app(built());
  const plain = await a.inject({ url: '/api/v1/status', headers: { host: '127.0.0.1' } });
  assert.equal(plain.statusCode, 401);
  for (const url of ['/ui/../api/v1/status', '/ui/%2e%2e/api/v1/status', '/ui/..%2fapi/v1/status']) {
    const r = await a.inject({ url, headers: { host: '127.0.0.1' } });
    assert.doesNotMatch(r.body, /secret/, url);
  }
  const post = await a.inject({ method: 'POST', url: '/ui/incidents', headers: { host: '127.0.0.1' } });
  assert.notEqual(post.statusCode, 200);
  const withToken = await a.inject({
    url: '/api/v1/status',
    headers: { host: '127.0.0.1', authorization: `Bearer ${TOKEN}` },
  });
  assert.match(withToken.body, /secret/);
});

test('without a build, /ui says how to make one', async () => {
  const a = await app(join(tmpdir(), `vigil-console-none-${process.pid}/`));
  const r = await a.inject({ url: '/ui/incidents', headers: { host: '127.0.0.1' } });
  assert.equal(r.statusCode, 503);
  assert.match(r.json().error, /npm run build/);
});
