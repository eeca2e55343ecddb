import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MalformedOutputMessage, readMessage, selected } from './message.js';
import { retryDelayMs } from './delivery.js';
import { alertMessage, incidentMessage } from './testing.js';

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

test('delivery ids are stable per content: an alert by id and count, an incident by id and version', () => {
  assert.equal(readMessage('alerts', bytes(alertMessage({ id: 'x', count: 3 }).data)).deliveryId, 'alert-x-3');
  assert.equal(readMessage('incidents', bytes(incidentMessage({ version: 7 }).data)).deliveryId, 'incident-inc-1-v7');
});

test('what is not an alert or incident is refused by name', () => {
  assert.throws(() => readMessage('alerts', new TextEncoder().encode('{')), MalformedOutputMessage);
  assert.throws(() => readMessage('incidents', bytes(alertMessage().data)), /not an incident/);
});

test('selection: at least minSeverity, and one of the rules globs when given', () => {
  const high = alertMessage({ severity: 'high', ruleId: 'tunnel.ssh-reverse' });
  assert.ok(selected({ minSeverity: 'high' }, high));
  assert.ok(!selected({ minSeverity: 'critical' }, high));
  assert.ok(selected({ minSeverity: 'low', rules: ['tunnel.*'] }, high));
  assert.ok(!selected({ minSeverity: 'low', rules: ['miner.*'] }, high));
  assert.ok(selected({ minSeverity: 'low', rules: ['shell.*'] }, incidentMessage()), 'any of the incident rules');
});

test('retries back off exponentially, capped', () => {
  assert.equal(retryDelayMs(1), 1000);
  assert.equal(retryDelayMs(2), 2000);
  assert.equal(retryDelayMs(4), 8000);
  assert.equal(retryDelayMs(50), 300_000);
});
