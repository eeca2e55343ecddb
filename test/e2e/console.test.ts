/**
 * The web console in a real browser (Debian's chromium through playwright-core) against a real
 * `vigil up` (bpftrace, NATS, chDB): each page's main path, live alerts without a reload, an attack
 * chain followed from the incident list to its tree and acknowledged, and bad input (a wrong token,
 * an unknown incident, a SQL error, a 10,000-process tree). Each page's screenshot goes to
 * test-artifacts/console/ in the checkout (git-ignored), made anew by every run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AlertV1, IncidentDetail, IncidentV1 } from '@vigil/schema';
import {
  API_TOKEN,
  authHeaders,
  REPO,
  startVigilUp,
  tempDir,
  vigilJson,
  waitFor,
  type VigilUp,
} from '../support/harness.js';

const HOST = `console-${process.pid}`;
const dir = tempDir('console');
const SHOTS = join(REPO, 'test-artifacts', 'console');
/** The screenshot of each page's main path, by file name. */
const PAGE_SHOTS = ['overview', 'incidents', 'incident', 'events-sql', 'hosts', 'detections'];
let vigil: VigilUp;
let browser: Browser;
let sink: Server;
let sinkPort = 0;

const alerts = () => vigilJson<AlertV1[]>(vigil.api, ['alerts', '--host', HOST, '--since', '1h', '--limit', '1000']);
const apiGet = async (path: string) => fetch(`${vigil.api}${path}`, { headers: authHeaders });
const run = (cmd: string, args: string[]) =>
  new Promise<number>((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.once('exit', () => resolve(child.pid ?? 0));
  });

before(async () => {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  sink = createServer((s) => {
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), 200);
  });
  sinkPort = await new Promise<number>((r) =>
    sink.listen(0, '127.0.0.1', () => r((sink.address() as { port: number }).port)),
  );
  vigil = await startVigilUp(join(dir, 'data'), HOST, [
    '--window-seconds',
    '1',
    ...['exec', 'proc', 'connect', 'tcp'].flatMap((p) => ['--probe', p]),
  ]);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  sink?.close();
  assert.equal(await vigil?.up.stop(), 0);
});

/** A fresh tab at 1280x800 on `path` under /ui, past the token prompt with `token`. */
async function open(path: string, token = API_TOKEN): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${vigil.api}/ui${path}`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** A renamed socat run by a shell, connecting to the test's listener: tunnel.tool on the renamed tool. */
async function attackChain(): Promise<{ shell: number; tool: string }> {
  const tool = join(dir, `kworker-c${Math.floor(Math.random() * 1e6)}`);
  copyFileSync('/usr/bin/socat', tool);
  execFileSync('chmod', ['+x', tool]);
  const shell = await run('bash', ['-c', `${tool} TCP:127.0.0.1:${sinkPort} EXEC:/bin/true; true`]);
  return { shell, tool };
}

test('the page asks for the token, and a wrong one gets a clear message asking for it again', async () => {
  const page = await open('/', 'not-the-token');
  const message = await page.getByRole('alert').textContent({ timeout: 15_000 });
  assert.match(message ?? '', /refused the token/);
  assert.match(message ?? '', /wrong bearer token/);
  assert.match(message ?? '', /Enter the API token/);
  assert.equal(await page.locator('input[name=token]').count(), 1);
  await shot(page, 'wrong-token');
  // The page itself came without the token; the data never does.
  assert.equal((await fetch(`${vigil.api}/ui/incidents`)).status, 200);
  assert.equal((await fetch(`${vigil.api}/api/v1/status`)).status, 401);
});

test('overview: the host up, and a new alert in the chart and the loudest rules without a reload', async () => {
  const page = await open('/');
  await page.locator('[data-testid=hosts-up] b').filter({ hasText: '1' }).waitFor({ timeout: 15_000 });
  await page.locator('.chart canvas').waitFor();
  const fake = join(dir, 'kworkerd');
  copyFileSync('/bin/sleep', fake);
  execFileSync('chmod', ['+x', fake]);
  await run(fake, ['0', '-o', 'stratum+tcp://pool.supportxmr.com:3333', '-u', '44AFFq5kSiGBoZ', '--donate-level=1']);
  // The page is not reloaded: the alert arrives through the live stream.
  await page.getByText('miner.exec').first().waitFor({ timeout: 30_000 });
  assert.ok(alerts().some((a) => a.ruleId === 'miner.exec'));
  await shot(page, 'overview');
});

test('incidents: an attack chain is in the list, its tree shows shell, renamed tool and connect in order, and it is acknowledged', async () => {
  const { shell, tool } = await attackChain();
  const list = await apiGet(`/api/v1/incidents?host=${HOST}`);
  assert.equal(list.status, 200, `GET /api/v1/incidents answers ${list.status}: ${await list.text()}`);
  const incident = await waitFor(
    'the incident of the attack chain',
    async () =>
      ((await (await apiGet(`/api/v1/incidents?host=${HOST}`)).json()) as { incidents: IncidentV1[] }).incidents.find(
        (i) => i.rules.includes('tunnel.tool') && i.processes.some((p) => p.exe === tool),
      ),
    30_000,
    500,
  );
  const page = await open('/incidents');
  await page.locator(`tr[data-incident="${incident.id}"]`).waitFor({ timeout: 15_000 });
  await shot(page, 'incidents');
  await page.click(`tr[data-incident="${incident.id}"]`);
  await page.locator('.tree').waitFor({ timeout: 15_000 });
  // Parent-child order: the renamed tool's box sits inside the shell's.
  const toolNode = page.locator(`.tree li[data-pid="${shell}"] li[data-exe="${tool}"]`);
  await toolNode.first().waitFor();
  assert.match((await page.locator(`li[data-pid="${shell}"] > details summary`).first().textContent()) ?? '', /bash/);
  const net = await page.locator('section', { hasText: 'Connections and DNS' }).textContent();
  assert.match(net ?? '', new RegExp(`127\\.0\\.0\\.1:${sinkPort}`));
  await shot(page, 'incident');
  await page.click('text=Acknowledge');
  await page.locator('[data-testid=status]', { hasText: 'acknowledged' }).waitFor({ timeout: 10_000 });
  const detail = (await (
    await apiGet(`/api/v1/incidents/${encodeURIComponent(incident.id)}`)
  ).json()) as IncidentDetail;
  assert.equal(detail.incident.status, 'acknowledged');
  assert.equal(detail.incident.statusHistory.at(-1)?.to, 'acknowledged');
  await shot(page, 'incidents-acknowledged');
});

test('an incident id that does not exist gets a clear message, not a blank page', async () => {
  const page = await open('/incidents/no-such-incident');
  const message = await page.getByRole('alert').textContent({ timeout: 15_000 });
  assert.match(message ?? '', /No incident with id "no-such-incident"/);
  await shot(page, 'incident-unknown');
});

test('events: filters, the tree around a process, SQL with a results table and CSV export, and a SQL error', async () => {
  const { shell, tool } = await attackChain();
  await waitFor(
    'the tool exec stored',
    () =>
      vigilJson<{ proc: { pid: number } }[]>(vigil.api, ['events', '--kind', 'exec', '--exe', tool, '--since', '1h'])
        .length > 0,
    20_000,
    300,
  );
  const page = await open('/events');
  await page.selectOption('select[name=kind]', 'exec');
  await page.fill('input[name=pid]', String(shell));
  await page.click('form.filters button[type=submit]');
  await page.locator(`[data-testid=events] tr[data-pid="${shell}"]`).first().waitFor({ timeout: 15_000 });
  await page.locator(`[data-testid=events] tr[data-pid="${shell}"] button`).first().click();
  await page.locator(`#tree-around li[data-pid="${shell}"] li[data-exe="${tool}"]`).waitFor({ timeout: 15_000 });
  await shot(page, 'events-tree');
  await page.fill('textarea[name=sql]', `SELECT 'a,"b' AS x, 2 AS n`);
  await page.click('text=Run (Ctrl+Enter)');
  await page.locator('[data-testid=sql-result] td', { hasText: 'a,"b' }).waitFor({ timeout: 15_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export CSV')]);
  const csv = readFileSync((await download.path()) as string, 'utf8');
  assert.equal(csv, '"x","n"\r\n"a,""b","2"');
  await shot(page, 'events-sql');
  await page.fill('textarea[name=sql]', 'SELECT no_such_column FROM events');
  await page.click('text=Run (Ctrl+Enter)');
  const error = await page.getByRole('alert').textContent({ timeout: 15_000 });
  assert.match(error ?? '', /The query failed: .*no_such_column/s);
  await shot(page, 'events-sql-error');
});

test('a 10,000-process tree from a real fork storm renders collapsed, with a way to expand', async () => {
  const storm = await run('bash', ['-c', 'for i in $(seq 10000); do /bin/true; done']);
  const stored = await waitFor(
    'the fork storm stored',
    async () => {
      const r = (await (
        await fetch(`${vigil.api}/api/v1/query`, {
          method: 'POST',
          headers: { ...authHeaders, 'content-type': 'application/json' },
          body: JSON.stringify({ sql: `SELECT count() AS n FROM events WHERE kind = 'exec' AND ppid = ${storm}` }),
        })
      ).json()) as { rows: { n: string | number }[] };
      const n = Number(r.rows[0]?.n ?? 0);
      return n >= 10_000 ? n : null;
    },
    120_000,
    1000,
  );
  assert.ok(stored >= 10_000);
  const page = await open('/events');
  await page.selectOption('select[name=kind]', 'exec');
  await page.fill('input[name=pid]', String(storm));
  await page.click('form.filters button[type=submit]');
  await page.locator(`[data-testid=events] tr[data-pid="${storm}"] button`).first().click({ timeout: 15_000 });
  const tree = page.locator('#tree-around .tree');
  await tree.waitFor({ timeout: 30_000 });
  assert.ok(Number(await tree.getAttribute('data-nodes')) >= 10_000);
  assert.match((await tree.textContent()) ?? '', /collapsed except the branches that lead to involved ones/);
  // Collapsed: a page of children is drawn, not ten thousand.
  assert.ok((await page.locator('#tree-around li[data-pid]').count()) < 200);
  const more = page.getByText(/show more \(\d+ of \d+ children hidden\)/);
  await more.click();
  assert.ok((await page.locator('#tree-around li[data-pid]').count()) > 200);
  await shot(page, 'tree-10000');
});

test('hosts: heartbeat age, version, memory, drops and probe states', async () => {
  const page = await open('/hosts');
  const row = page.locator(`tr[data-host="${HOST}"]`);
  await row.waitFor({ timeout: 15_000 });
  const text = (await row.textContent()) ?? '';
  assert.match(text, /up/);
  assert.match(text, /ago/);
  assert.match(text, /running/);
  await shot(page, 'hosts');
});

test('detections: loaded rules with fired and error counts', async () => {
  const page = await open('/detections');
  const row = page.locator('tr[data-rule="miner.exec"]');
  await row.waitFor({ timeout: 15_000 });
  assert.match((await row.textContent()) ?? '', /Crypto miner/);
  // The overview's test ran the miner: it fired here at least once.
  assert.ok(Number(await row.locator('[data-testid=fired]').textContent()) >= 1);
  // Keyboard: "2" opens the incidents page.
  await page.keyboard.press('2');
  await page.locator('h1', { hasText: 'Incidents' }).waitFor();
  await page.keyboard.press('5');
  await page.locator('h1', { hasText: 'Detections' }).waitFor();
  await shot(page, 'detections');
});

test('each page left its screenshot under test-artifacts/console', () => {
  for (const name of PAGE_SHOTS) {
    const file = join(SHOTS, `${name}.png`);
    assert.ok(statSync(file, { throwIfNoEntry: false })?.size, `${file} was not written by this run`);
    // A PNG, not an empty or half-written file.
    assert.deepEqual([...readFileSync(file).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  }
});
