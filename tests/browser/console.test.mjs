// The tenant console in headless Chromium against the real `chatctl serve`,
// driven as a tenant would: sign in with a secret key, find a conversation
// made through the API, read it, rebrand the bot and watch the real widget
// follow, manage keys, rate a reply in the widget and find it on the
// Overview chart, export, delete, sign out. tests/browser/run.sh starts the
// server and passes its address and demo (secret) key in CHAT_API and
// CHAT_KEY; the widget tests run on the same server first, so counts are
// compared before and after, never against fixed numbers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.CONSOLE_SCREENSHOTS || path.join(HERE, '..', '..', 'target', 'console-screenshots');
const API = process.env.CHAT_API; // http://127.0.0.1:PORT/api/chat/
const KEY = process.env.CHAT_KEY;
const RUN = Date.now().toString(36);
const USER = `console-visitor-${RUN}@example.com`;
const PAGED_USER = `console-regular-${RUN}@example.com`;
const PAGE_SIZE = 20; // the console's page
const BOT_NAME = `Acme Helper ${RUN}`;
const BOT_COLOR = '#0b7285';

let browser;
let ORIGIN;
let CONSOLE;
let page; // one signed-in tab, as a tenant would keep it open
let sessionId; // the conversation made through the API
const foreignRequests = [];

async function api(pathname, init = {}) {
  const res = await fetch(`${ORIGIN}${pathname}`, {
    ...init,
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...(init.headers || {}) },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function newPage(viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  const p = await context.newPage();
  p.errors = [];
  p.on('pageerror', (e) => p.errors.push(e.message));
  // The strict Content-Security-Policy must never have to block anything.
  p.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) p.errors.push(m.text()); });
  // No request may leave the server's origin (no CDN, no fonts, no analytics).
  p.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(ORIGIN) && !u.startsWith('blob:') && !u.startsWith('data:')) foreignRequests.push(u);
  });
  p.on('dialog', (d) => d.accept());
  return p;
}

async function shot(p, name) {
  const width = p.viewportSize().width;
  await p.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
}

async function go(p, hash) {
  await p.goto(`${CONSOLE}${hash}`);
}

/** The real widget inside the Settings preview (two frames deep). */
function previewChat(p) {
  return p.frameLocator('#widget-preview').frameLocator('#chatbot-widget iframe');
}

async function analyticsTotals() {
  const { status, body } = await api('/api/tenant/analytics?days=7');
  assert.equal(status, 200);
  return body.totals;
}

before(async () => {
  assert.ok(API && KEY, 'CHAT_API and CHAT_KEY must name a running chatctl serve: run tests/browser/run.sh');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run tests/browser/run.sh, which installs it`);
  ORIGIN = new URL(API).origin;
  CONSOLE = `${ORIGIN}/console/`;
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // A conversation made through the API, as a tenant's server would.
  const created = await api('/api/chat/sessions/create', {
    method: 'POST', body: JSON.stringify({ config: { aiProvider: 'dummy' }, user_identifier: USER }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  sessionId = created.body.sessionId || created.body.session_id;
  const sent = await api('/api/chat/messages/send', {
    method: 'POST', body: JSON.stringify({ sessionId, message: 'Do you ship blue widgets to Bern?' }),
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  // A regular visitor with more conversations than one page holds.
  for (let i = 0; i <= PAGE_SIZE; i++) {
    const r = await api('/api/chat/sessions/create', {
      method: 'POST', body: JSON.stringify({ config: { aiProvider: 'dummy' }, user_identifier: PAGED_USER }),
    });
    assert.equal(r.status, 201);
  }
});

after(async () => {
  if (browser) await browser.close();
});

test('the console is served with a strict policy from the binary', async () => {
  const res = await fetch(CONSOLE);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(await res.text(), /<meta name="api-base" content="">/);
  const licence = await fetch(`${CONSOLE}vendor/uPlot.LICENSE`);
  assert.equal(licence.status, 200);
  assert.match(await licence.text(), /MIT License/);
});

test('sign-in refuses a publishable or unknown key and keeps the secret key in sessionStorage only', async () => {
  page = await newPage();
  await page.goto(CONSOLE);
  await shot(page, 'sign-in');
  const key = page.getByLabel('Secret API key');
  await key.fill('pk_not_a_secret_key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Use a secret key').waitFor();
  assert.equal(await key.getAttribute('aria-invalid'), 'true');
  await key.fill('cb_unknown0000000000000000000000000000000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('This key was not accepted').waitFor();

  await key.fill(KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  assert.ok(!page.url().includes(KEY), 'the key is never in the URL');
  const stored = await page.evaluate(() => ({
    session: Object.values(sessionStorage), local: Object.keys(localStorage),
  }));
  assert.deepEqual(stored.session, [KEY]);
  assert.deepEqual(stored.local, []);
  // The tab keeps the key across a reload; the URL still has none.
  await page.reload();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
});

test('the conversation made through the API is listed, filtered by user, and opens with its transcript', async () => {
  await page.getByRole('link', { name: 'Conversations' }).click();
  await page.getByLabel('User identifier').fill(USER);
  await page.getByRole('button', { name: 'Filter' }).click();
  const row = page.locator(`#sessions tbody tr[data-session-id="${sessionId}"]`);
  await row.waitFor();
  assert.equal(await page.locator('#sessions tbody tr').count(), 1, 'the filter keeps only this user');
  assert.match(await row.textContent(), new RegExp(USER.replace(/[.]/g, '\\.')));
  await shot(page, 'conversations');

  await row.getByRole('link').click();
  await page.locator('#transcript').waitFor();
  const turns = page.locator('#transcript > li');
  assert.equal(await turns.count(), 2);
  assert.match(await turns.nth(0).textContent(), /Do you ship blue widgets to Bern\?/);
  const reply = turns.nth(1);
  assert.match(await reply.textContent(), /You said: "Do you ship blue widgets to Bern\?"/);
  assert.match(await reply.locator('.meta').textContent(), /dummy/);
  assert.ok(await reply.getAttribute('data-message-id'), 'transcript messages carry messageId');
  await shot(page, 'transcript');
});

test('a long list pages with nextCursor (Load more)', async () => {
  await page.getByRole('link', { name: 'All conversations' }).click();
  await page.getByLabel('User identifier').fill(PAGED_USER);
  await page.getByRole('button', { name: 'Filter' }).click();
  const rows = page.locator('#sessions tbody tr');
  await page.waitForFunction((n) => document.querySelectorAll('#sessions tbody tr').length === n, PAGE_SIZE);
  const more = page.getByRole('button', { name: 'Load more' });
  await more.click();
  await page.waitForFunction((n) => document.querySelectorAll('#sessions tbody tr').length === n, PAGE_SIZE + 1);
  assert.equal(await more.isHidden(), true, 'no more pages');
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.sessionId));
  assert.equal(new Set(ids).size, PAGE_SIZE + 1, 'no conversation twice');
});

test('a bad setting is shown next to its field; the bot name and colour reach the live preview and bot-config', async () => {
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByText('Preview ready.').waitFor({ timeout: 20000 });
  // The preview opens the widget without taking the focus, so keyboard
  // users stay where they were.
  await page.waitForTimeout(1000);
  assert.notEqual(await page.evaluate(() => document.activeElement.id), 'widget-preview');

  // The server names the field; the console puts the message beside it.
  const origins = page.getByLabel(/Allowed origins/);
  await origins.fill('not an origin');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.locator('#set-allowedOrigins[aria-invalid="true"]').waitFor();
  assert.notEqual((await page.locator('#set-allowedOrigins-error').textContent()).trim(), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'set-allowedOrigins');
  await origins.fill('');

  // Live, before saving: the real widget follows the form.
  await page.getByLabel('Bot name').fill(BOT_NAME);
  await page.locator('#set-bot-color').fill(BOT_COLOR);
  const chat = previewChat(page);
  await chat.locator('#bot-name', { hasText: BOT_NAME }).waitFor();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').first().waitFor();
  await shot(page, 'settings');

  const config = await api('/api/chat/sessions/bot-config');
  assert.equal(config.status, 200);
  assert.equal(config.body.botName, BOT_NAME);
  assert.equal(config.body.botColor.toLowerCase(), BOT_COLOR);
  const tenant = await api('/api/tenant');
  assert.equal(tenant.body.settings.bot.name, BOT_NAME);
  // The widget's header took the colour.
  const header = await chat.locator('.head').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(header, 'rgb(11, 114, 133)');

  // A new identity secret is shown once, and identity is on in the form.
  await page.getByRole('button', { name: 'Rotate the identity secret' }).click(); // confirm() is accepted
  const secret = await page.locator('#identity-secret').inputValue();
  assert.ok(secret.length >= 16, 'the new secret is shown');
  assert.equal(await page.getByLabel(/Verify visitor identity/).isChecked(), true);
  assert.equal((await api('/api/tenant')).body.settings.identity.enabled, true);
  // Off again, so the widget tests' anonymous visitors are unaffected.
  await page.getByLabel(/Verify visitor identity/).uncheck();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.waitForFunction(() => !document.getElementById('set-identity-enabled').checked);
  for (let i = 0; i < 20 && (await api('/api/tenant')).body.settings.identity.enabled; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await api('/api/tenant')).body.settings.identity.enabled, false);
});

test('a key is created, shown once with a copy button, works, and is revoked', async () => {
  await page.getByRole('link', { name: 'Keys' }).click();
  await page.locator('#keys tbody tr').first().waitFor();
  const label = `browser-test-${RUN}`;
  await page.getByLabel('Kind').selectOption('publishable');
  await page.getByLabel('Label').fill(label);
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.locator('#new-key');
  await shown.waitFor();
  const key = await shown.inputValue();
  assert.match(key, /^pk_/);
  await page.getByRole('button', { name: 'Copy key' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
  const row = page.locator('#keys tbody tr', { hasText: label });
  await row.waitFor();
  assert.ok(!(await row.textContent()).includes(key), 'the list shows a prefix, never the key');
  const works = await fetch(`${API}sessions/bot-config`, { headers: { 'X-API-Key': key } });
  assert.equal(works.status, 200);
  await works.arrayBuffer();

  // The embed snippet has its copy button too.
  const snippet = await page.locator('#embed-code').inputValue();
  assert.match(snippet, /<script[^>]+chatbot\.js\?apiKey=pk_/);
  await shot(page, 'keys');

  await row.getByRole('button', { name: /Revoke/ }).click();
  await page.waitForFunction((l) => {
    const r = [...document.querySelectorAll('#keys tbody tr')].find((tr) => tr.textContent.includes(l));
    return !r || /Revoked/.test(r.textContent);
  }, label);
  const refused = await fetch(`${API}sessions/bot-config`, { headers: { 'X-API-Key': key } });
  assert.equal(refused.status, 401);
  await refused.arrayBuffer();
});

test('a reply rated in the widget is counted on the Overview chart', async () => {
  const before = await analyticsTotals();
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByText('Preview ready.').waitFor({ timeout: 20000 });
  const chat = previewChat(page);
  await chat.locator('#input').fill('Is the blue widget waterproof?');
  await chat.locator('#input').press('Enter');
  const reply = chat.locator('.msg.assistant', { hasText: 'Is the blue widget waterproof?' });
  await reply.waitFor();
  // The widget's thumbs on that reply (keyboard-accessible buttons).
  await reply.getByRole('button', { name: 'Helpful', exact: true }).click();
  for (let i = 0; i < 60 && (await analyticsTotals()).feedbackUp <= before.feedbackUp; i++) {
    await new Promise((r) => setTimeout(r, 250));
  }

  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('button', { name: '7 days' }).click();
  const total = page.locator('#totals [data-field="feedbackUp"] dd');
  await page.waitForFunction(([n]) => {
    const dd = document.querySelector('#totals [data-field="feedbackUp"] dd');
    return dd && Number(dd.textContent.replace(/\D/g, '')) === n;
  }, [before.feedbackUp + 1]);
  assert.equal(Number((await total.textContent()).replace(/\D/g, '')), before.feedbackUp + 1);
  // The chart has today's count (its table holds the same numbers).
  const today = new Date().toISOString().slice(0, 10);
  const cell = page.locator(`table[data-chart="feedback"] tr[data-date="${today}"] td[data-field="feedbackUp"]`);
  assert.ok(Number(await cell.textContent()) >= 1);
  await page.locator('#chart-feedback canvas').waitFor(); // drawn by uPlot
  await shot(page, 'overview');
});

test('the export holds the conversation; deleting it removes it', async () => {
  await page.getByRole('link', { name: 'Conversations' }).click();
  await page.getByLabel('Format').selectOption('jsonl');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export all' }).click(),
  ]);
  const file = await download.path();
  assert.ok(fs.readFileSync(file, 'utf8').includes(sessionId), 'the export has the conversation');

  await go(page, `#/conversations/${sessionId}`);
  await page.locator('#transcript').waitFor();
  await page.getByRole('button', { name: 'Delete conversation' }).click(); // confirm() is accepted
  await page.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor();
  assert.equal((await api(`/api/tenant/sessions/${sessionId}`)).status, 404);
});

test('the Knowledge page adds a document, shows a refusal\'s reason, tries a search and deletes it', async () => {
  await go(page, '#/knowledge');
  await page.getByRole('heading', { name: 'Knowledge', level: 1 }).waitFor();
  const title = `Returns ${RUN}`;
  await page.setInputFiles('#knowledge-file', {
    name: `returns-${RUN}.md`, mimeType: 'text/markdown',
    buffer: Buffer.from(`# ${title}\n\nKettles may be returned within 30 days of delivery for a refund.\n`),
  });
  await page.getByRole('button', { name: 'Add file' }).click();
  await page.locator('#knowledge-add-status', { hasText: `Document added: ${title}` }).waitFor();
  const row = page.locator('#knowledge-documents tbody tr', { hasText: title });
  await row.waitFor();
  await page.setInputFiles('#knowledge-file', { name: 'data.csv', mimeType: 'text/csv', buffer: Buffer.from('a,b\n1,2\n') });
  await page.getByRole('button', { name: 'Add file' }).click();
  await page.locator('#knowledge-add-status', { hasText: 'Not added. Unsupported document type' }).waitFor();
  await page.getByLabel('A visitor\'s question').fill('How long do I have to return a kettle?');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#knowledge-results .result', { hasText: 'within 30 days' }).first().waitFor();
  await shot(page, 'knowledge');
  await row.getByRole('button', { name: `Delete ${title}` }).click();
  await row.waitFor({ state: 'detached' });
  const left = await api('/api/tenant/knowledge');
  assert.equal(left.status, 200);
  assert.ok(!left.body.documents.some((d) => d.title === title));
  assert.deepEqual(page.errors, []);
});

test('at 360 px every page fits the width; sign-out forgets the key', async () => {
  const phone = await newPage({ width: 360, height: 780 });
  await phone.goto(CONSOLE);
  await phone.getByLabel('Secret API key').fill(KEY);
  await phone.getByRole('button', { name: 'Sign in' }).click();
  for (const [hash, ready] of [
    ['#/overview', '#chart-feedback canvas'],
    ['#/conversations', '#sessions'],
    ['#/settings', '#set-bot-name'],
    ['#/keys', '#keys tbody tr'],
    ['#/knowledge', '#knowledge-file'],
  ]) {
    await go(phone, hash);
    await phone.locator(ready).first().waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the screen`);
    await shot(phone, hash.slice(2));
  }
  // Every control has a name a screen reader can read.
  const unnamed = await phone.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);

  await phone.getByRole('button', { name: 'Sign out' }).click();
  await phone.getByLabel('Secret API key').waitFor();
  // The key and the preview widget's conversation: nothing stays in the tab.
  assert.deepEqual(await phone.evaluate(() => Object.keys(sessionStorage)), []);
  await phone.reload();
  await phone.getByLabel('Secret API key').waitFor();
  assert.deepEqual(phone.errors, []);
  await phone.context().close();

  assert.deepEqual(page.errors, []);
  assert.deepEqual(foreignRequests, [], 'no request leaves the server');
  await page.context().close();
});
