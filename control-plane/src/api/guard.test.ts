import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostAllowed, hostOfHeader } from './guard.js';

test("a Host header's host name: name, name:port, [v6]:port; malformed is null", () => {
  assert.equal(hostOfHeader('127.0.0.1:8787'), '127.0.0.1');
  assert.equal(hostOfHeader('LocalHost'), 'localhost');
  assert.equal(hostOfHeader('[::1]:8787'), '::1');
  for (const bad of [undefined, '', 'a b', 'user@evil.example', 'evil.example/x', '[::1', 'a:b:c', 'host:99999999'])
    assert.equal(hostOfHeader(bad), null, String(bad));
});

test('the API answers to IP literals, localhost, its bind name and the allowed names only', () => {
  const ok = hostAllowed({ bindHost: '0.0.0.0', allowedHosts: ['Vigil.Internal'] });
  for (const name of ['127.0.0.1', '::1', '10.1.2.3', 'localhost', 'vigil.internal'])
    assert.equal(ok(name), true, name);
  for (const name of ['rebind.attacker.example', 'localhost.attacker.example', '127.0.0.1.nip.io', 'vigil'])
    assert.equal(ok(name), false, name);
  assert.equal(hostAllowed({ bindHost: 'vigil-cp' })('vigil-cp'), true);
});
