// The explorer page end to end in a real browser (Debian's Chromium, headless, driven by playwright-core).
//
//   node explorer.test.mjs   (run by tests/explorer/run.sh, which checks Chromium and installs playwright-core)
//
// Environment: ONEBILLD, ONEBILL (binaries), EXPLORER_WORK (a folder of its own), EXPLORER_NODE_MODULES (where
// playwright-core is installed), CHROMIUM (the browser). Starts a devnet of three voters and the auditor's learner
// in EXPLORER_WORK/run on a free range of ports, runs the story (devnet/scenario), then in the browser: refuses a
// wrong token, signs in as the auditor, opens the story's bill (legs, events, pledge, customs, proofs), watches a
// discrepancy appear live on a second bill while entries are submitted through the API, checks the network view,
// the audit bundle button, and a trader's view of the bonded receipt. Screenshots are saved in EXPLORER_WORK.
// Always stops the devnet (devnet/down --purge), also on failure.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = process.env.EXPLORER_WORK;
const require = createRequire(path.join(process.env.EXPLORER_NODE_MODULES, 'package.json'));
const { chromium } = require('playwright-core');

const started = Date.now();
const say = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${msg}`);
// A hard stop well inside CTest's timeout, so the devnet is still taken down.
const deadline = setTimeout(() => {
  console.error('FAIL: the test did not finish within 240 s');
  down();
  process.exit(1);
}, 240_000);

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
    s.setTimeout(500, () => { s.destroy(); resolve(true); });
  });
}

// A port base whose API (BASE+1..6) and Raft (BASE+101..106) ports are free; 12000-19900, below the range the
// devnet_story test uses (20000-31900) and the ephemeral ports (32768+).
async function pickPortBase() {
  for (let attempt = 0; attempt < 40; attempt++) {
    const base = 12000 + Math.floor(Math.random() * 80) * 100;
    const ports = [1, 2, 3, 4, 5, 6, 101, 102, 103, 104, 105, 106].map((i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

const env = { ...process.env, ONEBILL_DEVNET_DIR: path.join(work, 'run'), NO_COLOR: '1', ONEBILL_DEVNET_WAIT: '120' };
for (const k of ['ONEBILL_BIN_DIR', 'ONEBILL_NODE', 'ONEBILL_TOKEN', 'ONEBILL_TOKEN_FILE', 'ONEBILL_KEY']) delete env[k];

function devnet(tool, args = [], timeoutMs = 150_000) {
  const r = spawnSync(path.join(root, 'devnet', tool), args, { env, encoding: 'utf8', timeout: timeoutMs });
  writeFileSync(path.join(work, `${tool}.log`), (r.stdout || '') + (r.stderr || ''));
  if (r.status !== 0) {
    throw new Error(`devnet/${tool} ${args.join(' ')} failed (exit ${r.status}):\n${(r.stdout || '').slice(-3000)}\n${r.stderr || ''}`);
  }
  return r.stdout;
}
// Stops the test's devnet; `purge` also deletes its folder (kept after a failure: node logs, data).
function down({ purge = true } = {}) {
  spawnSync(path.join(root, 'devnet', 'down'), purge ? ['--purge'] : [], { env, encoding: 'utf8', timeout: 60_000 });
}

const tokenOf = (org) => readFileSync(path.join(work, 'run', 'orgs', org, 'token'), 'utf8').trim();

// ISO 6346: the check digit of OWNER+SERIAL (10 characters).
function container(owner, serial) {
  const s = owner + serial;
  const letters = 'A0B12C13D14E15F16G17H18I19J20K21L23M24N25O26P27Q28R29S30T31U32V34W35X36Y37Z38';
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const ch = s[i];
    const v = /[0-9]/.test(ch) ? Number(ch) : Number(letters.slice(letters.indexOf(ch) + 1).match(/^\d+/)[0]);
    sum += v * 2 ** i;
  }
  return s + ((sum % 11) % 10);
}

// An unsigned entry, signed by the node for the token's organisation (docs/api.md §3.6).
async function submit(apiUrl, org, type, doc, body) {
  const res = await fetch(`${apiUrl}/v1/transactions?wait=commit&timeout_ms=10000`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + tokenOf(org), 'Content-Type': 'application/json' },
    body: JSON.stringify({ tx: { type, doc, body } }),
  });
  const answer = await res.json();
  assert.equal(answer.status, 'accepted', `${type} on ${doc} by ${org}: ${JSON.stringify(answer)}`);
  return answer;
}

let browser;
let page;
let problems = [];
let failed = false;
try {
  mkdirSync(work, { recursive: true });
  rmSync(path.join(work, 'run'), { recursive: true, force: true });
  env.ONEBILL_DEVNET_PORT_BASE = String(await pickPortBase());
  const base = Number(env.ONEBILL_DEVNET_PORT_BASE);
  const n1 = `http://127.0.0.1:${base + 1}`;
  const n2 = `http://127.0.0.1:${base + 2}`;
  say(`devnet/up --voters 3 in ${env.ONEBILL_DEVNET_DIR}, port base ${base}`);
  devnet('up', ['--voters', '3']);
  say('devnet/scenario');
  const story = devnet('scenario');
  const bill = story.match(/^bill (OB-[0-9-]+) /m)[1];
  const pledge = story.match(/pledges (PL-[0-9-]+-1) \(icbc-tj\)/)[1];
  const receipt = story.match(/bonded receipt (WR-[0-9-]+),/)[1];
  say(`story done: bill ${bill}, pledge ${pledge}, receipt ${receipt}`);

  // A fresh profile for every run (playwright passes it to Chromium as --user-data-dir).
  const profile = path.join(work, 'profile');
  rmSync(profile, { recursive: true, force: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    timeout: 60_000,
  });
  browser = context;
  context.setDefaultTimeout(20_000);
  page = context.pages()[0] || await context.newPage();
  // The page asks GET /readyz on every view and shows a banner while the node is not ready; 503 is that probe's
  // documented answer (no leader for a moment: the devnet's election timeout is 300-600 ms, and a loaded machine
  // running other tests beside this one can starve a node that long). Chromium logs it as a failed load; it is the
  // page working, not an error of it. Every other 5xx and console error is.
  page.on('console', (m) => {
    if (m.type() !== 'error' || /status of 40[134]/.test(m.text())) return;
    const url = (m.location() && m.location().url) || '';
    if (/status of 503/.test(m.text()) && new URL(url || n1).pathname === '/readyz') return;
    problems.push(m.text() + (url ? ` (${url})` : ''));
  });
  // Which request a server error answered, and its problem document: the console line names neither.
  page.on('response', async (r) => {
    if (r.status() < 500) return;
    const body = await r.text().catch(() => '');
    say(`the page's ${r.request().method()} ${r.url()} was answered ${r.status()}: ${body.slice(0, 500)}`);
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));

  say('a wrong token is refused');
  await page.goto(n1 + '/');
  await page.locator('#token').fill('0'.repeat(64));
  await page.locator('#login-form button').click();
  await page.locator('#login-error').filter({ hasText: 'does not accept the token' }).waitFor();
  assert.ok(await page.locator('#login').isVisible(), 'the sign-in form stays');

  say('the auditor signs in (keyboard only) and opens the story\'s bill');
  await page.locator('#token').fill(tokenOf('auditor'));
  await page.keyboard.press('Enter');
  await page.locator('#who-org').filter({ hasText: 'auditor' }).waitFor();
  await page.locator('#find-id').fill(bill);
  await page.keyboard.press('Enter');
  await page.locator('h1').filter({ hasText: bill }).waitFor();
  const legs = page.locator('.legs > .leg');
  await legs.nth(1).waitFor();
  assert.equal(await legs.count(), 2, 'two legs');
  const sea = await legs.nth(0).innerText();
  const rail = await legs.nth(1).innerText();
  for (const text of ['Sea', 'Busan', 'Tianjin', 'cosco', 'Loaded', 'Departed', 'Arrived', 'Discharged', 'cosco/k1']) {
    assert.ok(sea.toLowerCase().includes(text.toLowerCase()), `the sea leg shows ${text}`);
  }
  for (const text of ['Rail', 'Duisburg', 'Border crossed', 'Gauge changed', 'Dostyk', 'Małaszewicze', 'crct/k1']) {
    assert.ok(rail.toLowerCase().includes(text.toLowerCase()), `the rail leg shows ${text}`);
  }
  assert.ok((await legs.nth(1).locator('tbody tr').count()) >= 7, 'the rail leg has its events in order');
  const pledges = page.locator('.pledges .pledge');
  await pledges.filter({ hasText: 'icbc-tj' }).first().waitFor();
  const pledgeText = await pledges.filter({ hasText: pledge }).innerText();
  assert.ok(/released/.test(pledgeText) && pledgeText.includes('CNY 8,000,000.00'), 'the pledge and its amount');
  const disc = page.locator('.discrepancy').first();
  assert.ok((await disc.innerText()).includes('equipment_mismatch'), 'the story\'s discrepancy, with its resolution');
  assert.equal(await disc.locator('.record').count(), 2, 'both conflicting records side by side');
  assert.ok((await page.locator('.chain').innerText()).includes('duisport-trade'), 'the endorsement chain');
  await page.locator('.proof-summary').filter({ hasText: 'accepted entries are in the certified' }).waitFor();
  const proofs = await page.locator('.proof-summary').innerText();
  assert.ok(!/DO NOT CHECK/.test(proofs), 'every inclusion proof checks: ' + proofs);
  await page.locator('.history .proof').filter({ hasText: 'checks' }).first().waitFor();
  const storyShot = path.join(work, 'explorer-bill.png');
  await page.screenshot({ path: storyShot, fullPage: true });
  say('screenshot of the bill view: ' + storyShot);

  say('audit bundle: downloaded, or a clear message while the node does not serve it');
  const downloaded = page.waitForEvent('download', { timeout: 15_000 }).catch(() => null);
  await page.getByRole('button', { name: 'Download audit bundle' }).click();
  await page.locator('.bundle p').filter({ hasText: /Saved|does not serve audit bundles|answered/ }).waitFor();
  const bundleMsg = await page.locator('.bundle p').innerText();
  if (/Saved/.test(bundleMsg)) assert.ok(await downloaded, 'a download started');
  say('bundle: ' + bundleMsg);

  say('a discrepancy appears live, without reload, on a second bill');
  const serial = String(Date.now() % 1_000_000).padStart(6, '0');
  const c1 = container('TGHU', serial);
  const c2 = container('TCNU', serial);
  const bill2 = 'OB-EXPLORER-' + serial;
  await submit(n1, 'crct', 'bill.issue', bill2, {
    document_type: 'BOL', to_order: true, shipper: 'crct', consignee: null, notify: [], holder: 'crct',
    place_of_receipt: 'CNTSN', place_of_delivery: 'DEDUI',
    legs: [{ mode: 'rail', carrier: 'crct', from: 'CNTSN', to: 'DEDUI', vehicle: 'X9001' }],
    equipment: [{ ref: c1, iso_code: '45G1', seals: ['CN-1'] }, { ref: c2, iso_code: '45G1', seals: ['CN-2'] }],
    cargo: [{ description: 'Machine parts', hs: '847990', packages: 10, gross_kg: 8000, equipment_ref: c1 },
      { description: 'Machine parts', hs: '847990', packages: 10, gross_kg: 8000, equipment_ref: c2 }],
  });
  await submit(n1, 'crct', 'bill.event', bill2, { leg: 0, event: 'loaded', at: 'CNTSN', equipment: [{ ref: c1 }, { ref: c2 }] });
  await page.goto(`${n1}/#/doc/${bill2}`);
  await page.locator('.legs .events tbody tr').first().waitFor();
  await page.locator('#live-state').filter({ hasText: 'following ' + bill2 }).waitFor();
  await page.evaluate(() => { window.notReloaded = true; });
  assert.equal(await page.locator('.discrepancy.open').count(), 0, 'no discrepancy yet');
  await submit(n2, 'tjport', 'bill.event', bill2, { leg: 0, event: 'loaded', at: 'CNTSN', equipment: [{ ref: c1 }] });
  await page.locator('#live-log li').filter({ hasText: 'tjport/k1' }).waitFor();
  await page.locator('.discrepancy.open').filter({ hasText: 'equipment_mismatch' }).waitFor();
  await page.locator('.alert').filter({ hasText: 'Open discrepancy' }).waitFor();
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  const open = page.locator('.discrepancy.open');
  assert.equal(await open.locator('.record').count(), 2, 'the carrier\'s and the port\'s records side by side');
  const records = await open.locator('.record').allInnerTexts();
  assert.ok(records.some((t) => t.includes('crct') && t.includes(c2)) && records.some((t) => t.includes('tjport')),
    'the records name both parties and the container only one of them reported');
  assert.ok((await open.locator('mark').count()) >= 1, 'the container missing from one record is marked');
  assert.ok((await page.locator('tr.disc-open').count()) >= 1, 'the event that opened it is highlighted');
  const discShot = path.join(work, 'explorer-discrepancy.png');
  await page.screenshot({ path: discShot, fullPage: true });
  say('screenshot of the live discrepancy: ' + discShot);

  say('the network view');
  await page.locator('a[data-nav="network"]').click();
  await page.locator('#head-check').filter({ hasText: 'matches block' }).waitFor();
  const netText = await page.locator('main').innerText();
  for (const text of ['n1', 'n2', 'n3', 'l1', 'leader', 'Latest certified head']) {
    assert.ok(netText.includes(text), `the network view shows ${text}`);
  }

  say('a trader sees the bonded receipt it pledged; an unknown id is explained');
  await page.locator('#sign-out').click();
  await page.locator('#token').fill(tokenOf('eurotrade'));
  await page.keyboard.press('Enter');
  await page.locator('#who-org').filter({ hasText: 'eurotrade' }).waitFor();
  await page.goto(`${n1}/#/doc/${receipt}`);
  await page.locator('meter').waitFor();
  const receiptText = await page.locator('main').innerText();
  assert.ok(/bonded/.test(receiptText) && /250 of 250 TNE/.test(receiptText) && /locked/.test(receiptText),
    'remaining quantity, bonded status and the pledge lock');
  await page.goto(`${n1}/#/doc/NO-SUCH-DOC`);
  await page.locator('main .error').filter({ hasText: 'no document with this id' }).waitFor();

  assert.deepEqual(problems, [], 'no errors or CSP violations in the browser console');
  say('explorer browser test: passed');
} catch (e) {
  failed = true;
  console.error('FAIL:', e && e.stack ? e.stack : e);
  if (problems.length) console.error('browser console:', problems.join('\n'));
  if (page) {
    const shot = path.join(work, 'explorer-failure.png');
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.error('the page at the failure: ' + shot + '\n' + (await page.locator('body').innerText().catch(() => '')).slice(0, 3000));
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  // After a failure the network's folder stays for its node logs; the next run starts afresh.
  down({ purge: !failed });
  if (failed) console.error('the devnet, with each node\'s log, is kept in ' + env.ONEBILL_DEVNET_DIR);
  clearTimeout(deadline);
}
process.exit(failed ? 1 : 0);
