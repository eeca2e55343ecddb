import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envScript } from './scripts.js';

test("sensor.env reaches the host base64-encoded: none of its bytes is read by the host's shell", () => {
  const content = 'VIGIL_NATS_PASSWORD="$(touch /tmp/owned)\'; reboot #"\n';
  const script = envScript(content);
  assert.ok(!script.includes('$(touch'));
  assert.ok(!script.includes('reboot'));
  assert.ok(script.includes(Buffer.from(content).toString('base64')));
});
