// The web console in Debian's headless Chromium (playwright-core), against the
// service that test_console.sh prepares (URLs and run ids in SR_* variables).
// Run on its own (no SR_CONSOLE_URL), it runs test_console.sh, which prepares
// the service and calls back into this file.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!process.env.SR_CONSOLE_URL) {
  const r = spawnSync('bash', [path.join(here, 'test_console.sh')], { stdio: 'inherit' });
  process.exit(r.status === null ? 1 : r.status);
}

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env('SR_CONSOLE_URL');
const ART = env('SR_ARTIFACTS');
const DONE = env('SR_DONE_RUN');
const REFUSED = env('SR_REFUSED_RUN');
const PENDING = env('SR_PENDING_RUN');
const REVOKED_HASH = env('SR_REVOKED_HASH');
const PENDING_HASH = env('SR_PENDING_HASH');
const DONE_HASH = env('SR_DONE_HASH');
mkdirSync(ART, { recursive: true });

let failures = 0;
function check(cond, what) {
  if (cond) {
    console.log(`ok: ${what}`);
  } else {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const consoleErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => consoleErrors.push(`requestfailed: ${r.url()}`));
  page.on('response', (r) => {
    // The only expected non-2xx is none: every view must load cleanly.
    if (r.status() >= 400) consoleErrors.push(`HTTP ${r.status()}: ${r.url()}`);
  });

  const open = async (hash) => {
    await page.goto(`${BASE}/${hash}`);
    await page.waitForSelector(`#view[data-route="${hash}"]`, { timeout: 15000 });
  };
  const text = (sel) => page.locator(sel).first().innerText();

  // ---- 1. consortium dashboard ------------------------------------------------
  await open('#/consortia');
  const cardio = page.locator('tr.consortium[data-name="Cardio-renal cohort study"]');
  const insur = page.locator('tr.consortium[data-name="Insurance claim adjudication"]');
  check(await cardio.count() === 1 && await insur.count() === 1, 'dashboard lists both consortia');
  check((await cardio.locator('th.name .cname').innerText()) === 'Cardio-renal cohort study', 'consortium name');
  check((await cardio.locator('td.owners').innerText()).trim() === '3', 'owners count 3');
  check((await insur.locator('td.owners').innerText()).trim() === '2', 'second consortium owners count 2');
  // newest manifest per dataset: hospital-a 700 (the pending run's archive), hospital-b 400;
  // not the sum over every archive seen (600 + 600 + 700 + 3 × 400)
  check((await cardio.locator('td.records').innerText()).trim() === '1100', 'records = rows of the newest manifests (1100)');
  check((await insur.locator('td.records').innerText()).trim() === '0', 'no dataset seen for the second consortium');
  const crit = async (row) => Promise.all([1, 2, 3].map((i) => row.locator(`td.c${i} .badge`).innerText()));
  const cc = await crit(cardio);
  // bank-c is PCI-grade only: HIPAA / GDPR-grade is partial (2 of 3 owners)
  check(cc[0] === 'match' && cc[1] === 'match' && cc[2] === 'partial', `criteria cells of the cohort: ${cc}`);
  const ic = await crit(insur);
  check(ic[0] === 'partial' && ic[1] === 'miss' && ic[2] === 'miss', `criteria cells of the second consortium: ${ic}`);
  check((await cardio.locator('td.status').innerText()).trim() === 'live', 'cohort is live (an allowed recipe)');
  check((await insur.locator('td.status').innerText()).trim() === 'forming', 'second consortium is forming');
  await cardio.locator('details.more summary').click();
  const more = await cardio.locator('details.more').innerText();
  check(more.includes('hospital-a · EU-DE · HIPAA,GDPR') && more.includes('bank-c · US · PCI'), `owner details: ${more}`);
  await page.screenshot({ path: path.join(ART, 'consortia.png'), fullPage: true });

  // the filter: criteria 2 (multi-jurisdiction) hides the consortium that misses it
  await page.getByLabel(/criteria 2/).check();
  check(await cardio.isVisible() && !(await insur.isVisible()), 'filter on criteria 2 hides the row that misses it');
  await page.getByLabel(/criteria 2/).uncheck();
  await page.getByLabel(/criteria 1/).check();
  check(!(await insur.isVisible()), 'criteria 1 (partial) hidden by default');
  await page.getByLabel('count partial as met').check();
  check(await insur.isVisible(), 'criteria 1 partial shown when partial counts');
  await page.getByLabel(/criteria 2/).check();
  check(await cardio.isVisible() && !(await insur.isVisible()), 'criteria 1 + 2: only the cohort remains');
  await page.getByLabel('count partial as met').uncheck();
  await page.getByLabel(/criteria 3/).check();
  check(!(await cardio.isVisible()) && await page.locator('#filter-empty').isVisible(), 'criteria 3 (partial) hides the cohort too');
  await page.getByLabel('count partial as met').check();
  await page.screenshot({ path: path.join(ART, 'consortia-filtered.png'), fullPage: true });

  // ---- 2. approval console -------------------------------------------------------
  await open(`#/approvals/${PENDING_HASH}`);
  const recipeText = await text('pre.recipe');
  check(recipeText.includes('"note": "v3"') && recipeText.includes('"mean_egfr"'), 'recipe text visible');
  check((await text('dl.summary')).includes('hospital-a'), 'readable recipe summary names the datasets');
  const ownerState = async (id) => page.locator(`li.owner[data-owner="${id}"]`).getAttribute('data-state');
  check(await ownerState('hospital-a') === 'signed', 'hospital-a signed');
  check(await ownerState('hospital-b') === 'pending' && await ownerState('bank-c') === 'pending', 'hospital-b and bank-c pending');
  check((await text('#quorum')) === '1 / 2 quorum', `quorum shows 1 / 2: ${await text('#quorum')}`);
  const cmd = await page.locator('li.owner[data-owner="hospital-b"] code.cmd').innerText();
  check(cmd.startsWith('sealroom approve --gate ledger:') && cmd.includes(`--compose-hash ${PENDING_HASH}`),
    `approve command for a pending owner: ${cmd}`);
  check(await page.locator('li.owner[data-owner="hospital-a"] code.cmd').count() === 0, 'no command for a signed owner');
  await page.screenshot({ path: path.join(ART, 'approval-pending.png'), fullPage: true });

  await open(`#/approvals/${REVOKED_HASH}`);
  check(await ownerState('bank-c') === 'revoked', 'bank-c revoked');
  check(await ownerState('hospital-a') === 'signed' && await ownerState('hospital-b') === 'pending', 'revoked recipe: others');
  check((await text('.quorum-card')).includes('revoked by bank-c'), 'revocation is stated');
  await page.screenshot({ path: path.join(ART, 'approval-revoked.png'), fullPage: true });

  await open(`#/approvals/${DONE_HASH}`);
  check(await ownerState('hospital-a') === 'signed' && await ownerState('hospital-b') === 'signed', 'approved recipe: two signed');
  check((await text('#quorum')) === '2 / 2 quorum', 'approved recipe: 2 / 2 quorum');

  // ---- 3. runs --------------------------------------------------------------------
  await open('#/runs');
  const rowStatus = (id) => page.locator(`tr.run[data-id="${id}"]`).getAttribute('data-status');
  check(await rowStatus(DONE) === 'done' && await rowStatus(REFUSED) === 'refused' &&
    await rowStatus(PENDING) === 'awaiting_approval', 'runs list with their statuses');
  check((await page.locator(`tr.run[data-id="${PENDING}"] td.reason`).innerText()) === '1 / 2 quorum', 'waiting run shows k / n');
  check((await page.locator(`tr.run[data-id="${DONE}"] td.reason`).innerText()) === 'ε = 1.5 spent', 'done run shows ε spent');
  check((await page.locator(`tr.run[data-id="${REFUSED}"] td.reason`).innerText()).includes('revoked by bank-c'), 'refused run shows why');
  await page.screenshot({ path: path.join(ART, 'runs.png'), fullPage: true });

  await open(`#/runs/${DONE}`);
  check((await text('#epsilon')) === 'ε = 1.5', `ε spent: ${await text('#epsilon')}`);
  check((await text('#verdict')) === '✓ verified', `verdict: ${await text('#verdict')}`);
  const patients = Number(await page.locator('tr.output[data-output="patients"] .value').innerText());
  check(Math.abs(patients - 1000) < 60, `aggregate patients ≈ 1000: ${patients}`);
  const egfr = Number(await page.locator('tr.output[data-output="mean_egfr"] .value').innerText());
  check(egfr > 20 && egfr < 120, `aggregate mean_egfr in range: ${egfr}`);
  const checks = await page.locator('li.check').evaluateAll((els) => els.map((e) => [e.dataset.check, e.querySelector('.mark').textContent]));
  const names = checks.map((c) => c[0]);
  check(['format', 'payload-hash', 'payload-signature', 'quote-chain', 'report-data', 'rtmr3-replay', 'kms-certificate',
    'gate-approvals', 'output-contract'].every((n) => names.includes(n)), `every receipt link listed: ${names}`);
  check(checks.length > 0 && checks.every((c) => c[1] === '✓'), `every receipt link ✓: ${JSON.stringify(checks)}`);
  await page.screenshot({ path: path.join(ART, 'run-done.png'), fullPage: true });

  // what the page shows when a link fails, and when the verification cannot be had
  // (the service's answers replaced in the browser; nothing else changes)
  await page.route('**/verification', (r) => r.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify({ valid: false, tee: 'simulated', checks: [
      { name: 'format', ok: true, detail: 'fields' },
      { name: 'payload-hash', ok: false, detail: 'SHA-256 of the payload differs from the statement' },
      { name: 'gate-approvals', ok: null, detail: 'skipped' }] }) }));
  await page.goto(`${BASE}/#/runs`);
  await open(`#/runs/${DONE}`);
  check((await text('#verdict')) === '✗ not verified', 'a failed link: ✗ not verified');
  const marks = await page.locator('li.check .mark').allInnerTexts();
  check(JSON.stringify(marks) === JSON.stringify(['✓', '✗', '–']), `marks for pass / fail / skipped: ${marks}`);
  await page.unroute('**/verification');
  const before501 = consoleErrors.length;
  await page.route('**/verification', (r) => r.fulfill({ status: 501, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'unimplemented', message: 'not in this build' } }) }));
  await page.goto(`${BASE}/#/runs`);
  await open(`#/runs/${DONE}`);
  check((await text('#verdict')) === 'verification unavailable' &&
    (await text('#verification-unavailable')).includes('verification unavailable'), 'no verification: "verification unavailable"');
  check((await text('#epsilon')) === 'ε = 1.5', 'no verification: the aggregate is still shown');
  await page.unroute('**/verification');
  const extra501 = consoleErrors.splice(before501);
  check(extra501.length > 0 && extra501.every((e) => e.includes('501')), `only the simulated 501 was logged: ${extra501}`);

  await open(`#/runs/${REFUSED}`);
  check((await text('#run-status')) === 'refused', 'refused run status');
  check((await text('#run-reason')).includes('revoked by bank-c'), `refused reason: ${await text('#run-reason')}`);
  await page.screenshot({ path: path.join(ART, 'run-refused.png'), fullPage: true });

  await open(`#/runs/${PENDING}`);
  check((await text('p.quorum')).includes('1 / 2 quorum'), 'pending run shows its quorum');

  // a run in progress keeps itself current: when the service's answer changes, the page
  // follows without a navigation (the answer is changed in the browser, nothing else)
  check((await page.locator('#view').getAttribute('data-refresh')) === '2000', 'a run in progress re-reads itself');
  const waitStatus = async (want) => {
    try {
      await page.waitForFunction((w) => (document.getElementById('run-status') || {}).textContent === w, want, { timeout: 10000 });
      return true;
    } catch (e) {
      return false;
    }
  };
  await page.route(`**/v1/runs/${PENDING}`, async (r) => {
    const resp = await r.fetch();
    const body = await resp.json();
    body.status = 'running';
    delete body.detail;
    await r.fulfill({ response: resp, json: body });
  });
  check(await waitStatus('running'), `the page follows the run to "running" by itself: ${await text('#run-status')}`);
  await page.unroute(`**/v1/runs/${PENDING}`);
  check(await waitStatus('awaiting approval'), 'and back, with the service\'s own answer');
  await open('#/consortia');
  check((await page.locator('#view').getAttribute('data-refresh')) === null, 'a finished view does not re-read itself');

  // a narrow screen
  await page.setViewportSize({ width: 390, height: 844 });
  await open('#/consortia');
  check(await page.locator('tr.consortium[data-name="Cardio-renal cohort study"]').isVisible(), 'dashboard on a narrow screen');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `narrow screen: the page does not scroll sideways (${overflow}px), the table does`);
  await page.screenshot({ path: path.join(ART, 'consortia-narrow.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  // the console escapes what it renders: a hostile route never becomes markup, and the
  // API's refusal of a malformed hash is shown (its HTTP 400 is the only expected error)
  const before = consoleErrors.length;
  await page.evaluate(() => { location.hash = '#/approvals/<img src=x onerror=alert(1)>'; });
  await page.waitForFunction(() => document.getElementById('view').getAttribute('data-route') === location.hash);
  check(await page.locator('#view img').count() === 0, 'route text is not interpreted as HTML');
  check((await text('#view .error')).includes('HTTP 400'), 'bad compose hash: the API error is shown');
  const extra = consoleErrors.splice(before);
  check(extra.every((e) => e.includes('400')), `only the expected 400 was logged: ${JSON.stringify(extra)}`);
} finally {
  await browser.close();
}

check(consoleErrors.length === 0, `no errors in the browser console: ${JSON.stringify(consoleErrors)}`);
if (failures) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('console browser checks: ok');
