import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slackEscape, slackMessage } from './slack.js';
import { alertMessage, incidentMessage } from './testing.js';

test('an incident: severity, host, job, story, rules, and its link under the public URL', () => {
  const m = slackMessage(incidentMessage({ job: 'slurm-9', severity: 'critical' }), 'https://vigil.example/');
  assert.equal(m.text, '[CRITICAL] Incident on gpu-1 (job slurm-9): python → bash → xmrig');
  const json = JSON.stringify(m.blocks);
  assert.ok(json.includes('*Rules*\\nminer.exec, shell.reverse'));
  assert.ok(json.includes('*Job*\\nslurm-9'));
  assert.ok(json.includes('<https://vigil.example/ui/incidents/inc-1|Open the incident in Vigil>'));
});

test('no public URL, or an alert: no link', () => {
  assert.ok(!JSON.stringify(slackMessage(incidentMessage()).blocks).includes('/ui/incidents/'));
  assert.ok(!JSON.stringify(slackMessage(alertMessage(), 'https://v.example').blocks).includes('/ui/'));
});

test('an alert tells its title and reason, and its process job', () => {
  const m = slackMessage(alertMessage());
  assert.equal(m.text, '[CRITICAL] Alert on gpu-1 (job slurm-7): Crypto miner started: stratum+tcp pool in argv');
});

test('text from the watched host cannot make links or mentions', () => {
  assert.equal(
    slackEscape('<!channel> <http://evil|click> & co'),
    '&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co',
  );
  const m = slackMessage(alertMessage({ title: '<!here>', reason: '<https://x|y>' }));
  assert.ok(!JSON.stringify(m).includes('<!here>'));
  assert.ok(!JSON.stringify(m).includes('<https://x|y>'));
});

test('long text is clipped under Slack limits', () => {
  const m = slackMessage(alertMessage({ reason: 'x'.repeat(10_000) }));
  assert.ok(m.text.length <= 3000);
  for (const b of m.blocks as { text?: { text: string } }[]) assert.ok((b.text?.text.length ?? 0) <= 3000);
});
