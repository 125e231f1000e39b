// The embeddable widget in headless Chromium against the real `chatctl
// serve`. tests/browser/run.sh starts the server and passes its address and
// demo key in CHAT_API and CHAT_KEY. Host pages are served by this file from
// another origin (another port), as a tenant's site would be.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WIDGET = path.join(HERE, '..', '..', 'widget');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.CHATBOT_SCREENSHOTS || path.join(HERE, '..', '..', 'target', 'widget-screenshots');
const API = process.env.CHAT_API; // http://127.0.0.1:PORT/api/chat/
const KEY = process.env.CHAT_KEY;
const LOADER_BUDGET = 15 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let browser;
let ORIGIN; // the API's origin, where the widget's files are served
let HOST; // the tenant's site
let OTHER; // a third origin: a stranger's frame inside the tenant's page
const servers = [];

function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      servers.push(server);
      resolve(`http://127.0.0.1:${server.address().port}`);
    });
  });
}

// A tenant's page embedding the widget with the given script query.
function hostPage(url) {
  const query = url.searchParams.get('q') || '';
  const hostile = url.searchParams.has('hostile')
    ? '<style>iframe, button { display: none !important; } div { color: red !important; }</style>'
    : '';
  const stranger = url.searchParams.has('stranger') ? `<iframe title="ad" src="${OTHER}/stranger"></iframe>` : '';
  return `<!doctype html><html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Store - Widgets</title>${hostile}
<script>
  window.__events = [];
  window.addEventListener('message', (e) => {
    if (e.data && e.data.source === 'chatbot-widget') window.__events.push({ origin: e.origin, data: e.data });
    if (e.data === 'stranger-done') window.__strangerDone = true;
  });
</script></head>
<body><h1>Acme Store</h1><p>Our blue widgets ship in two days.</p>${stranger}
<script src="${ORIGIN}/widget/chatbot.js?${query}"></script>
</body></html>`;
}

// A frame from another origin that tries to pass as the widget's frame and to
// command the loader.
const STRANGER = `<!doctype html><script>
  const p = window.parent;
  p.postMessage({ ns: 'chatbot-widget-frame', type: 'message', message: 'forged by a stranger' }, '*');
  p.postMessage({ ns: 'chatbot-widget-frame', type: 'session', sessionId: 'forged', created: true }, '*');
  p.postMessage({ target: 'chatbot-widget', command: 'open' }, '*');
  p.postMessage('stranger-done', '*');
</script>`;

before(async () => {
  assert.ok(API && KEY, 'CHAT_API and CHAT_KEY must name a running chatctl serve: run tests/browser/run.sh');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run tests/browser/run.sh, which installs it`);
  ORIGIN = new URL(API).origin;
  const health = await fetch(`${API}sessions/bot-config`, { headers: { 'X-API-Key': KEY } });
  assert.equal(health.status, 200, 'the chat server answers with the demo key');
  await health.arrayBuffer(); // an unread body would hold its connection open
  OTHER = await listen((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(STRANGER);
  });
  HOST = await listen((req, res) => {
    const url = new URL(req.url, 'http://host');
    if (url.pathname !== '/embed') { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(hostPage(url));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  for (const s of servers) { s.closeAllConnections(); s.close(); }
});

// --- helpers ---------------------------------------------------------------

async function api(pathname, init = {}) {
  const res = await fetch(API + pathname, { ...init, headers: { 'X-API-Key': KEY, ...(init.headers || {}) } });
  return { status: res.status, body: await res.json() };
}

function embedUrl(params, extra = '') {
  const q = new URLSearchParams({ apiKey: KEY, ...params }).toString();
  return `${HOST}/embed?q=${encodeURIComponent(q)}${extra}`;
}

async function newPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The frame's Content-Security-Policy must never have to block anything.
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  page.errors = errors;
  return page;
}

async function load(page, url) {
  await page.goto(url);
  await waitEvent(page, 'widget_ready');
}

async function events(page) {
  return page.evaluate(() => window.__events.map((e) => e.data));
}

async function waitEvent(page, type, count = 1) {
  await page.waitForFunction(
    ([t, n]) => window.__events.filter((e) => e.data.type === t).length >= n,
    [type, count],
    { timeout: 15000 },
  );
  const all = (await events(page)).filter((e) => e.type === type);
  return all[count - 1];
}

function chat(page) {
  return page.frameLocator('#chatbot-widget iframe');
}

function chatFrame(page) {
  const f = page.frames().find((fr) => fr.url().startsWith(`${ORIGIN}/widget/frame.html`));
  assert.ok(f, 'the widget frame is loaded from the API origin');
  return f;
}

function launcher(page) {
  return page.locator('#chatbot-widget button.l');
}

async function openChat(page) {
  await launcher(page).click();
  await waitEvent(page, 'widget_opened');
}

async function send(page, text) {
  const before = (await events(page)).filter((e) => e.type === 'message_received').length;
  await chat(page).locator('#input').fill(text);
  await chat(page).locator('#input').press('Enter');
  return waitEvent(page, 'message_received', before + 1);
}

async function sessionDetails(id) {
  const { status, body } = await api(`sessions/${id}`);
  assert.equal(status, 200);
  return body;
}

async function flushMessages(page) {
  await page.evaluate(() => new Promise((resolve) => {
    window.addEventListener('message', function f(e) {
      if (e.data === 'flush') { window.removeEventListener('message', f); resolve(); }
    });
    window.postMessage('flush', location.origin);
  }));
}

// --- tests -----------------------------------------------------------------

test('the loader stays within its 15 KB gzip budget and is served as in the repository', async (t) => {
  const source = fs.readFileSync(path.join(WIDGET, 'chatbot.js'));
  const gzipped = zlib.gzipSync(source, { level: 9 }).length;
  t.diagnostic(`chatbot.js: ${source.length} bytes, ${gzipped} bytes gzipped (budget ${LOADER_BUDGET})`);
  assert.ok(gzipped <= LOADER_BUDGET, `chatbot.js is ${gzipped} bytes gzipped`);
  const res = await fetch(`${ORIGIN}/widget/chatbot.js`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(res.headers.get('cache-control'), /max-age=\d+/);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), source);
  for (const [file, type] of [['frame.html', 'text/html'], ['frame.js', 'text/javascript'], ['frame.css', 'text/css']]) {
    const r = await fetch(`${ORIGIN}/widget/${file}`);
    assert.equal(r.status, 200, file);
    assert.ok(r.headers.get('content-type').startsWith(type), file);
    assert.ok(r.headers.get('etag'), file);
    await r.arrayBuffer();
  }
  const missing = await fetch(`${ORIGIN}/widget/missing.js`);
  assert.equal(missing.status, 404);
  await missing.arrayBuffer();
});

test('the demo page at / embeds the widget with the demo key and logs its events', async () => {
  const res = await fetch(`${ORIGIN}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.ok((await res.text()).includes(`/widget/chatbot.js?apiKey=${KEY}"`));
  const page = await newPage();
  await page.goto(`${ORIGIN}/`);
  await page.locator('#events li', { hasText: '"widget_ready"' }).waitFor();
  await page.getByRole('button', { name: 'Open chat' }).first().click();
  await page.locator('#events li', { hasText: '"session_created"' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

describe('the three embed options of the reference', () => {
  test('1. userIdentifier: the given user, no generated id; the host page CSS cannot hide it', async () => {
    const page = await newPage();
    const requests = [];
    page.on('request', (r) => { if (r.url().endsWith('/sessions/create')) requests.push(r.postDataJSON()); });
    await load(page, embedUrl({ userIdentifier: 'alice@example.com' }, '&hostile=1'));
    await openChat(page); // a real click: the launcher is visible despite the page's CSS
    const created = await waitEvent(page, 'session_created');
    assert.equal(created.userId, 'alice@example.com');
    assert.equal(await page.evaluate(() => localStorage.getItem('chatbot_user_id')), null);
    assert.equal(requests[0].user_identifier, 'alice@example.com');
    const details = await sessionDetails(created.sessionId);
    assert.equal(details.userIdentifier, 'alice@example.com');
    // The page the visitor is on goes with the session.
    const { pageContext, pageData } = details.config;
    assert.equal(pageContext.url, page.url());
    assert.equal(pageContext.title, 'Acme Store - Widgets');
    assert.equal(pageData.hostname, '127.0.0.1');
    assert.equal(pageData.language, 'en-GB');
    assert.match(pageData.pageContent, /Our blue widgets ship in two days/);
    const stats = await api('sessions/stats/by-user');
    assert.ok(stats.body.userStats['alice@example.com'] >= 1);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('2. apiKey only: a UUID kept as chatbot_user_id across reloads, and the conversation restored', async () => {
    const page = await newPage();
    await load(page, embedUrl({}));
    const userId = await page.evaluate(() => localStorage.getItem('chatbot_user_id'));
    assert.match(userId, UUID);
    await openChat(page);
    const created = await waitEvent(page, 'session_created');
    assert.equal(created.userId, userId);
    const reply = await send(page, 'Remember the blue widget');
    assert.match(reply.message, /You said: "Remember the blue widget"/);

    await page.reload();
    await waitEvent(page, 'widget_ready');
    assert.equal(await page.evaluate(() => localStorage.getItem('chatbot_user_id')), userId);
    // The panel was open: it opens again, with the same session and history.
    const restored = await waitEvent(page, 'session_restored');
    assert.equal(restored.sessionId, created.sessionId);
    assert.equal(restored.userId, userId);
    await chat(page).locator('.msg.user', { hasText: 'Remember the blue widget' }).waitFor();
    await chat(page).locator('.msg.assistant', { hasText: 'You said: "Remember the blue widget"' }).waitFor();
    assert.equal((await events(page)).filter((e) => e.type === 'session_created').length, 0);
    const second = await send(page, 'And again');
    assert.match(second.message, /1 history messages|2 history messages/);
    assert.equal((await sessionDetails(created.sessionId)).userIdentifier, userId);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('3. noTracking=true: no identifier created or sent (even beside a userIdentifier)', async () => {
    const page = await newPage();
    const requests = [];
    page.on('request', (r) => { if (r.url().endsWith('/sessions/create')) requests.push(r.postDataJSON()); });
    await load(page, embedUrl({ noTracking: 'true' }));
    await openChat(page);
    const created = await waitEvent(page, 'session_created');
    assert.equal(created.userId, null);
    await send(page, 'no tracking please');
    assert.equal(requests.length, 1);
    assert.ok(!('user_identifier' in requests[0]), JSON.stringify(requests[0]));
    assert.equal((await sessionDetails(created.sessionId)).userIdentifier, null);
    await page.reload();
    await waitEvent(page, 'widget_ready');
    assert.equal(await page.evaluate(() => localStorage.getItem('chatbot_user_id')), null);
    assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), []);
    // Within the tab, a reload still finds the conversation.
    const restored = await waitEvent(page, 'session_restored');
    assert.equal(restored.sessionId, created.sessionId);
    assert.equal(restored.userId, null);
    await page.goto(embedUrl({ noTracking: 'true', userIdentifier: 'ignored@example.com' }));
    await waitEvent(page, 'widget_ready');
    assert.equal((await waitEvent(page, 'session_restored')).userId, null);
    assert.ok(requests.every((r) => !('user_identifier' in r)));
    await page.context().close();
  });
});

test('a message is sent, the reply shown and announced, and the host page records every event', async () => {
  const page = await newPage();
  await load(page, embedUrl({ userIdentifier: 'events@example.com' }));
  await openChat(page);
  const reply = await send(page, 'Hello widget');
  await chat(page).locator('.msg.assistant', { hasText: 'You said: "Hello widget"' }).waitFor();
  assert.match(await chat(page).locator('#live').textContent(), /Claude Assistant: You said: "Hello widget"/);
  await chat(page).locator('#close').click();
  await waitEvent(page, 'widget_minimized');
  assert.deepEqual(page.errors, []);

  const recorded = await page.evaluate(() => window.__events);
  assert.deepEqual(recorded.map((e) => e.data.type),
    ['widget_ready', 'widget_opened', 'session_created', 'message_received', 'widget_minimized']);
  for (const { origin, data } of recorded) {
    assert.equal(origin, HOST, 'posted by the page itself');
    assert.equal(data.source, 'chatbot-widget');
    assert.equal(data.version, 1);
    assert.equal(data.userId, 'events@example.com');
  }
  const created = recorded[2].data;
  assert.match(created.sessionId, /^[0-9a-f-]{36}$/);
  assert.equal(reply.sessionId, created.sessionId);
  assert.equal(reply.message, (await api(`messages/history/${created.sessionId}`)).body.messages[1].content);
  assert.equal(await page.locator('#chatbot-widget iframe').isVisible(), false);
  await page.context().close();
});

test('model output cannot inject markup: HTML shows as text, Markdown is a safe subset', async () => {
  const page = await newPage();
  await page.addInitScript(() => { window.__pwned = 0; });
  await load(page, embedUrl({ userIdentifier: 'xss@example.com' }));
  await openChat(page);
  const hostile = '<img src=x onerror="window.__pwned=1;parent.__pwned=1"> **bold** `code` [docs](https://example.com/docs) [bad](javascript:alert(1))';
  await send(page, hostile);
  const bubble = chat(page).locator('.msg.assistant').last();
  assert.match(await bubble.textContent(), /<img src=x onerror="window.__pwned=1;parent.__pwned=1">/);
  assert.equal(await chat(page).locator('.log img').count(), 0);
  assert.equal(await bubble.locator('strong').textContent(), 'bold');
  assert.equal(await bubble.locator('code').first().textContent(), 'code');
  const links = bubble.locator('a');
  assert.equal(await links.count(), 1, 'only the http(s) link is a link');
  assert.equal(await links.getAttribute('href'), 'https://example.com/docs');
  assert.match(await links.getAttribute('rel'), /noopener/);
  assert.equal(await chatFrame(page).evaluate(() => window.__pwned), 0);
  assert.equal(await page.evaluate(() => window.__pwned), 0);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a CSV upload shows its summary; a rejected file shows the server\'s reason', async () => {
  const page = await newPage();
  await load(page, embedUrl({ userIdentifier: 'files@example.com' }));
  await openChat(page);
  await waitEvent(page, 'session_created');
  const file = chat(page).locator('#file');
  await file.setInputFiles({
    name: 'sales.csv', mimeType: 'text/csv',
    buffer: Buffer.from('id,product,revenue\n1,Widget,120.5\n2,Gadget,99\n3,Widget,80\n'),
  });
  const summary = chat(page).locator('.note.file');
  await summary.waitFor();
  assert.match(await summary.textContent(), /sales\.csv uploaded/);
  assert.match(await summary.textContent(), /CSV file with 3 rows and 3 columns/);
  const reply = await send(page, 'What sells best?');
  assert.match(reply.message, /file data: yes/);

  await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  const error = chat(page).locator('.note.error');
  await error.waitFor();
  assert.match(await error.textContent(), /Unsupported file type: Only CSV and JSON files are accepted/);
  await page.context().close();
});

describe('streaming and failures', () => {
  test('streamed replies render as their deltas arrive', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'stream@example.com' }));
    const sent = [];
    page.on('request', (r) => { if (r.url().endsWith('/messages/send')) sent.push(r.url()); });
    await page.route(`${ORIGIN}/api/chat/messages/stream`, async (route) => {
      const { sessionId } = route.request().postDataJSON();
      const done = { response: 'Streamed **reply**', sessionId, messageCount: 2, provider: 'dummy', model: 'dummy-1.0' };
      await route.fulfill({
        status: 200,
        headers: { 'Content-Type': 'text/event-stream' },
        body: `event: delta\ndata: {"text":"Streamed "}\n\nevent: delta\r\ndata: {"text":"**reply**"}\r\n\r\nevent: done\ndata: ${JSON.stringify(done)}\n\n`,
      });
    });
    await openChat(page);
    const reply = await send(page, 'stream please');
    assert.equal(reply.message, 'Streamed **reply**');
    const bubble = chat(page).locator('.msg.assistant').last();
    assert.equal(await bubble.textContent(), 'Streamed reply');
    assert.equal(await bubble.locator('strong').textContent(), 'reply');
    assert.deepEqual(sent, [], '/messages/send is not used when the stream answers');
    await page.context().close();
  });

  test('a stream error event shows the error and a retry', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'stream-error@example.com' }));
    let calls = 0;
    await page.route(`${ORIGIN}/api/chat/messages/stream`, async (route) => {
      calls += 1;
      if (calls === 1) {
        await route.fulfill({
          status: 200, headers: { 'Content-Type': 'text/event-stream' },
          body: 'event: delta\ndata: {"text":"Half"}\n\nevent: error\ndata: {"error":"Failed to process message","detail":"The AI provider did not answer in time"}\n\n',
        });
      } else {
        await route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"Not found"}' });
      }
    });
    await openChat(page);
    await chat(page).locator('#input').fill('try me');
    await chat(page).locator('#input').press('Enter');
    const error = chat(page).locator('.note.error');
    await error.waitFor();
    assert.match(await error.textContent(), /Failed to process message: The AI provider did not answer in time/);
    assert.equal(await chat(page).locator('.msg.assistant').count(), 0, 'the partial reply is removed');
    await error.getByRole('button', { name: 'Retry' }).click();
    const reply = await waitEvent(page, 'message_received');
    assert.match(reply.message, /You said: "try me"/);
    assert.equal(await chat(page).locator('.msg.user').count(), 1, 'the message is shown once');
    await page.context().close();
  });

  test('without a stream endpoint (404 or 405) the widget falls back to /messages/send and stops trying', async () => {
    for (const status of [404, 405]) {
      const page = await newPage();
      await load(page, embedUrl({ userIdentifier: `fallback-${status}@example.com` }));
      const seen = [];
      page.on('request', (r) => { if (/\/messages\/(send|stream)$/.test(r.url())) seen.push(r.url().split('/').pop()); });
      await page.route(`${ORIGIN}/api/chat/messages/stream`, (route) => route.fulfill({
        status, contentType: 'application/json', body: JSON.stringify({ error: status === 404 ? 'Not found' : 'Method not allowed' }),
      }));
      await openChat(page);
      assert.match((await send(page, 'first')).message, /You said: "first"/);
      assert.match((await send(page, 'second')).message, /You said: "second"/);
      assert.deepEqual(seen, ['stream', 'send', 'send'], `status ${status}`);
      await page.context().close();
    }
  });

  test('an expired session (410) is replaced and the typed message resent', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'expired@example.com' }));
    await page.route(`${ORIGIN}/api/chat/messages/stream`, (route) => route.fulfill({
      status: 410, contentType: 'application/json', body: '{"error":"Session expired"}',
    }), { times: 1 });
    await openChat(page);
    const first = await waitEvent(page, 'session_created');
    const reply = await send(page, 'are you still there?');
    const second = await waitEvent(page, 'session_created', 2);
    assert.notEqual(second.sessionId, first.sessionId);
    assert.equal(reply.sessionId, second.sessionId);
    assert.match(reply.message, /You said: "are you still there\?"/);
    await chat(page).locator('.note', { hasText: 'expired' }).waitFor();
    assert.equal(await chat(page).locator('.msg.user').count(), 1);
    const history = await api(`messages/history/${second.sessionId}`);
    assert.equal(history.body.messages[0].content, 'are you still there?');
    await page.context().close();
  });

  test('a provider failure (502) or a network failure shows a clear error, and Retry recovers', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'failures@example.com' }));
    await page.route(`${ORIGIN}/api/chat/messages/stream`, (route) => route.fulfill({
      status: 502, contentType: 'application/json', body: '{"error":"Failed to process message"}',
    }), { times: 1 });
    await openChat(page);
    await chat(page).locator('#input').fill('flaky');
    await chat(page).locator('#input').press('Enter');
    let error = chat(page).locator('.note.error');
    await error.waitFor();
    assert.match(await error.textContent(), /Failed to process message\. Please try again\./);
    assert.equal(await error.getAttribute('role'), 'alert');
    await page.route(`${ORIGIN}/api/chat/messages/*`, (route) => route.abort('failed'), { times: 1 });
    await error.getByRole('button', { name: 'Retry' }).click();
    error = chat(page).locator('.note.error');
    await error.waitFor();
    assert.match(await error.textContent(), /Could not reach the chat service/);
    await error.getByRole('button', { name: 'Retry' }).click();
    const reply = await waitEvent(page, 'message_received');
    assert.match(reply.message, /You said: "flaky"/);
    assert.equal(await chat(page).locator('.note.error').count(), 0);
    await page.context().close();
  });

  test('a session that cannot be created shows the error, and Retry creates it', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'no-session@example.com' }));
    await page.route(`${ORIGIN}/api/chat/sessions/create`, (route) => route.fulfill({
      status: 503, contentType: 'application/json', body: '{"error":"Storage unavailable","detail":"Please retry shortly"}',
    }), { times: 1 });
    await openChat(page);
    const error = chat(page).locator('.note.error');
    await error.waitFor();
    assert.match(await error.textContent(), /Storage unavailable: Please retry shortly\. Please try again\./);
    await error.getByRole('button', { name: 'Retry' }).click();
    await waitEvent(page, 'session_created');
    assert.equal(await chat(page).locator('.note.error').count(), 0);
    await page.context().close();
  });

  test('a bad API key is reported in the chat, and widget_ready is posted once', async () => {
    const page = await newPage();
    await page.goto(`${HOST}/embed?q=${encodeURIComponent('apiKey=cb_wrong')}`);
    await waitEvent(page, 'widget_ready');
    await openChat(page);
    const error = chat(page).locator('.note.error').first();
    await error.waitFor();
    assert.match(await error.textContent(), /Invalid API key/);
    await error.getByRole('button', { name: 'Retry' }).click();
    await chat(page).locator('.note.error', { hasText: 'Invalid API key' }).first().waitFor();
    await flushMessages(page);
    assert.equal((await events(page)).filter((e) => e.type === 'widget_ready').length, 1);
    await page.context().close();
  });
});

test('keyboard: Enter opens with focus in the chat, Escape closes and focus returns to the launcher', async () => {
  const page = await newPage();
  await load(page, embedUrl({ userIdentifier: 'keys@example.com' }));
  await launcher(page).focus();
  await page.keyboard.press('Enter');
  await waitEvent(page, 'widget_opened');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
  const frame = chatFrame(page);
  await frame.waitForFunction(() => document.activeElement && document.activeElement.id === 'input');
  await waitEvent(page, 'session_created');
  await page.keyboard.type('typed with the keyboard');
  await page.keyboard.press('Enter');
  const reply = await waitEvent(page, 'message_received');
  assert.match(reply.message, /typed with the keyboard/);
  await page.keyboard.press('Escape');
  await waitEvent(page, 'widget_minimized');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
  assert.equal(await page.evaluate(() => {
    const root = document.getElementById('chatbot-widget').shadowRoot;
    return document.activeElement.id === 'chatbot-widget' && root.activeElement.classList.contains('l');
  }), true);
  // Escape also closes while the launcher has focus.
  await page.keyboard.press('Enter');
  await waitEvent(page, 'widget_opened', 2);
  await launcher(page).focus();
  await page.keyboard.press('Escape');
  await waitEvent(page, 'widget_minimized', 2);
  // Tab reaches the launcher from the page, like any button.
  await page.locator('h1').click();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'chatbot-widget');
  await page.context().close();
});

test('host commands work through window.ChatbotWidget and postMessage', async () => {
  const page = await newPage();
  await load(page, embedUrl({ userIdentifier: 'commands@example.com' }));
  await page.evaluate(() => window.ChatbotWidget.open());
  const first = await waitEvent(page, 'session_created');
  await page.evaluate(() => window.ChatbotWidget.updatePageContext({ title: 'Checkout', content: 'Cart: 3 blue widgets' }));
  for (let i = 0; i < 50; i += 1) {
    if ((await sessionDetails(first.sessionId)).config.pageContext.title === 'Checkout') break;
    await page.waitForTimeout(100);
  }
  const { pageContext } = (await sessionDetails(first.sessionId)).config;
  assert.equal(pageContext.title, 'Checkout');
  assert.equal(pageContext.content, 'Cart: 3 blue widgets');
  assert.equal(pageContext.url, page.url());

  await page.evaluate(() => window.postMessage({ target: 'chatbot-widget', command: 'newConversation' }, location.origin));
  const second = await waitEvent(page, 'session_created', 2);
  assert.notEqual(second.sessionId, first.sessionId);

  await page.evaluate(() => window.ChatbotWidget.setUser('bob@example.com'));
  const reply = await send(page, 'I am Bob');
  assert.equal(reply.userId, 'bob@example.com');
  const third = await waitEvent(page, 'session_created', 3);
  assert.equal(third.userId, 'bob@example.com');
  assert.equal((await sessionDetails(third.sessionId)).userIdentifier, 'bob@example.com');

  await page.evaluate(() => window.postMessage({ target: 'chatbot-widget', command: 'close' }, location.origin));
  await waitEvent(page, 'widget_minimized');
  await page.evaluate(() => window.ChatbotWidget.open());
  await waitEvent(page, 'widget_opened', 2);
  await page.evaluate(() => window.ChatbotWidget.close());
  await waitEvent(page, 'widget_minimized', 2);
  await page.context().close();
});

test('messages from other windows or origins are ignored in both directions', async () => {
  const page = await newPage();
  await load(page, embedUrl({ userIdentifier: 'origins@example.com' }, '&stranger=1'));
  await page.waitForFunction(() => window.__strangerDone === true);
  // The page itself posting as if it were the frame: wrong window.
  await page.evaluate(() => window.postMessage({ ns: 'chatbot-widget-frame', type: 'message', message: 'forged by the page' }, '*'));
  await flushMessages(page);
  const types = (await events(page)).map((e) => e.type);
  assert.deepEqual(types, ['widget_ready'], 'nothing relayed, nothing opened');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
  // The frame ignores the loader's commands from anyone but its parent page.
  const frame = chatFrame(page);
  await frame.evaluate(() => window.postMessage({ ns: 'chatbot-widget-loader', type: 'new_conversation' }, '*'));
  await page.waitForTimeout(300);
  assert.deepEqual((await events(page)).map((e) => e.type), ['widget_ready']);
  await page.context().close();
});

describe('layout', () => {
  test('360 px wide: the panel fills the screen and stays usable', async () => {
    const page = await newPage({ width: 360, height: 740 });
    await load(page, embedUrl({ userIdentifier: 'mobile@example.com' }));
    await page.screenshot({ path: path.join(SHOTS, 'mobile-360-closed.png') });
    await openChat(page);
    const box = await page.locator('#chatbot-widget iframe').boundingBox();
    assert.deepEqual(box, { x: 0, y: 0, width: 360, height: 740 });
    await send(page, 'Do you ship **blue** widgets?\n\n- fast\n- cheap');
    const frame = chatFrame(page);
    assert.equal(await frame.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
    for (const id of ['#input', '#send', '#attach', '#close']) {
      const b = await chat(page).locator(id).boundingBox();
      assert.ok(b && b.x >= 0 && b.x + b.width <= 360 && b.y + b.height <= 740, `${id} is on screen`);
    }
    await page.screenshot({ path: path.join(SHOTS, 'mobile-360-open.png') });
    await page.context().close();
  });

  test('desktop: a panel beside the launcher; screenshots for review', async () => {
    const page = await newPage({ width: 1280, height: 800 });
    await load(page, embedUrl({ userIdentifier: 'desktop@example.com' }));
    await openChat(page);
    const box = await page.locator('#chatbot-widget iframe').boundingBox();
    assert.equal(box.width, 380);
    assert.ok(box.x + box.width <= 1280 - 20 + 0.5 && box.height <= 600);
    await chat(page).locator('#file').setInputFiles({
      name: 'sales.csv', mimeType: 'text/csv',
      buffer: Buffer.from('id,product,revenue\n1,Widget,120.5\n2,Gadget,99\n'),
    });
    await chat(page).locator('.note.file').waitFor();
    await send(page, 'Summarise **sales** by `product`:\n\n1. widgets\n2. gadgets\n\nSee [the docs](https://example.com/docs).');
    await page.screenshot({ path: path.join(SHOTS, 'desktop-open.png') });
    assert.ok(fs.statSync(path.join(SHOTS, 'desktop-open.png')).size > 10000);
    await page.context().close();
  });
});
