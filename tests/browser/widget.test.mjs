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
// The "Widget Shop" tenant: a publishable key for pages, its secret key for
// checking from the server side (tests/browser/run.sh makes both).
const SHOP_PK = process.env.CHAT_SHOP_PK;
const SHOP_KEY = process.env.CHAT_SHOP_KEY;
const LOADER_BUDGET = 15 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let browser;
let ORIGIN; // the API's origin, where the widget's files are served
let HOST; // the tenant's site
let OTHER; // a third origin: a stranger's frame inside the tenant's page
const servers = [];

function listen(handler, port = 0) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
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
  const config = url.searchParams.get('config');
  // The Django system's embed: window.ChatbotConfig, then the script with data-* attributes.
  const attrs = JSON.parse(url.searchParams.get('attrs') || '{}');
  const script = url.searchParams.has('attrs')
    ? `<script src="${ORIGIN}/widget/chatbot.js"${Object.entries(attrs).map(([k, v]) => ` data-${k}="${v}"`).join('')}></script>`
    : `<script src="${ORIGIN}/widget/chatbot.js?${query}"></script>`;
  // A tenant's strict policy: no inline styles at all, scripts from itself and the API only.
  const csp = url.searchParams.has('csp')
    ? `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' ${ORIGIN}; style-src 'none'; frame-src ${ORIGIN}; img-src 'none'">`
    : '';
  return `<!doctype html><html lang="en-GB"><head><meta charset="utf-8">${csp}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Store - Widgets</title>${hostile}
<script>
  window.__events = [];
  window.addEventListener('message', (e) => {
    if (e.data && e.data.source === 'chatbot-widget') window.__events.push({ origin: e.origin, data: e.data });
    if (e.data === 'stranger-done') window.__strangerDone = true;
  });
</script>${config ? `<script>window.ChatbotConfig = ${config};</script>` : ''}</head>
<body><h1>Acme Store</h1><p>Our blue widgets ship in two days.</p>${stranger}
${script}
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

// A page that frames the chat frame itself, without the key in its URL (so
// with no tenant's frame-ancestors), and hands it a publishable key.
const FORGED = `<!doctype html><body><script>
  const q = new URLSearchParams(location.search);
  const f = document.createElement('iframe');
  f.src = q.get('frame') + '#host=' + encodeURIComponent(location.origin);
  window.addEventListener('message', (e) => {
    if (e.source === f.contentWindow && e.data && e.data.type === 'hello') {
      f.contentWindow.postMessage({ ns: 'chatbot-widget-loader', type: 'init', apiKey: q.get('key'), userId: null }, '*');
    }
  });
  document.body.appendChild(f);
</script>`;

before(async () => {
  assert.ok(API && KEY, 'CHAT_API and CHAT_KEY must name a running chatctl serve: run tests/browser/run.sh');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run tests/browser/run.sh, which installs it`);
  ORIGIN = new URL(API).origin;
  const health = await fetch(`${API}sessions/bot-config`, { headers: { 'X-API-Key': KEY } });
  assert.equal(health.status, 200, 'the chat server answers with the demo key');
  await health.arrayBuffer(); // an unread body would hold its connection open
  // Another site: a stranger's frame, and pages trying to use the Widget
  // Shop's publishable key outside its allowed origin.
  OTHER = await listen((req, res) => {
    const url = new URL(req.url, 'http://other');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    if (url.pathname === '/embed') res.end(hostPage(url));
    else if (url.pathname === '/forge') res.end(FORGED);
    else res.end(STRANGER);
  });
  // The tenant's site: on the port run.sh listed as the Widget Shop's allowed origin.
  HOST = await listen((req, res) => {
    const url = new URL(req.url, 'http://host');
    if (url.pathname !== '/embed') { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(hostPage(url));
  }, Number(process.env.CHAT_HOST_PORT || 0));
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

  test('a key the API refuses is reported in the chat, and widget_ready is posted once', async () => {
    const page = await newPage();
    // The frame is served (the key in its URL verifies); the API then refuses the visitor's calls.
    await page.route(`${ORIGIN}/api/chat/**`, (route) => route.fulfill({
      status: 401, contentType: 'application/json', body: '{"error":"Invalid API key"}',
    }));
    await page.goto(embedUrl({ userIdentifier: 'refused@example.com' }));
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

  test('a key that does not verify: the browser refuses the frame and the page hears widget_error', async () => {
    const page = await newPage();
    await page.goto(`${HOST}/embed?q=${encodeURIComponent('apiKey=cb_wrong')}`);
    const failed = await waitEvent(page, 'widget_error');
    assert.equal(failed.action, 'load');
    assert.equal(failed.error, 'The chat could not load');
    assert.ok(page.errors.some((e) => /frame-ancestors/.test(e)), page.errors.join('\n'));
    assert.equal((await events(page)).filter((e) => e.type === 'widget_ready').length, 0);
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

test('a chat left open opens again on the next page, and open({focus: false}), without taking the page\'s focus, except where it covers a narrow window', async () => {
  const page = await newPage();
  const focused = () => page.evaluate(() => document.activeElement.id || document.activeElement.tagName);
  // A script opens the chat without focus: the page keeps it.
  await load(page, embedUrl({ userIdentifier: 'quiet-open@example.com' }));
  await page.locator('h1').click();
  await page.evaluate(() => window.ChatbotWidget.open({ focus: false }));
  // The frame starts the session in the same step as it would focus.
  await waitEvent(page, 'session_created');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
  assert.equal(await focused(), 'BODY');
  // The visitor's own open still focuses the message box.
  await page.evaluate(() => window.ChatbotWidget.close());
  await openChat(page);
  await chatFrame(page).waitForFunction(() => document.activeElement && document.activeElement.id === 'input');

  // The next page: open again, focus with the page.
  await page.reload();
  await waitEvent(page, 'widget_ready');
  await waitEvent(page, 'session_restored');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
  assert.equal(await focused(), 'BODY');
  assert.equal(await chatFrame(page).evaluate(() => document.hasFocus()), false);
  await page.context().close();

  // Where the open chat covers a narrow window, the focus goes into it:
  // left on the page, it would be hidden underneath.
  const narrow = await newPage({ width: 360, height: 740 });
  await load(narrow, embedUrl({ userIdentifier: 'quiet-open-narrow@example.com' }));
  await narrow.evaluate(() => window.ChatbotWidget.open({ focus: false }));
  await waitEvent(narrow, 'session_created');
  await chatFrame(narrow).waitForFunction(() => document.activeElement && document.activeElement.id === 'input');
  await narrow.reload();
  await waitEvent(narrow, 'session_restored');
  assert.equal(await narrow.evaluate(() => document.activeElement.id), 'chatbot-widget');
  await chatFrame(narrow).waitForFunction(() => document.activeElement && document.activeElement.id === 'input');
  await narrow.context().close();
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

// --- issue 14: the widget the Django system's tenants are used to -----------

async function apiAs(key, pathname, init = {}) {
  const res = await fetch(API + pathname, { ...init, headers: { 'X-API-Key': key, 'Content-Type': 'application/json', ...(init.headers || {}) } });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

// The Django-style embed: window.ChatbotConfig and data-* attributes.
function djangoUrl(attrs, config) {
  const q = new URLSearchParams({ attrs: JSON.stringify(attrs) });
  if (config) q.set('config', JSON.stringify(config));
  return `${HOST}/embed?${q}`;
}

async function shopSession(id) {
  const { status, body } = await apiAs(SHOP_KEY, `sessions/${id}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

async function poll(check, what, ms = 5000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    assert.ok(Date.now() < until, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function lastReply(page) {
  return chat(page).locator('.msg.assistant:not(.welcome)').last();
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

test('the vendored Markdown parser and sanitiser are the pinned npm releases, byte for byte, with their licences', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(HERE, 'package-lock.json'), 'utf8'));
  for (const [pkg, file, vendored, licences] of [
    ['marked', 'lib/marked.umd.js', 'marked.umd.js', ['marked.LICENSE.md']],
    ['dompurify', 'dist/purify.min.js', 'purify.min.js', ['dompurify.LICENSE', 'dompurify.LICENSE-MPL']],
  ]) {
    const pinned = lock.packages[`node_modules/${pkg}`].version;
    const installed = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version;
    assert.equal(installed, pinned, pkg);
    assert.deepEqual(fs.readFileSync(path.join(WIDGET, 'vendor', vendored)),
      fs.readFileSync(path.join(HERE, 'node_modules', pkg, file)), `${vendored} is ${pkg}@${pinned}'s ${file}`);
    for (const l of licences) assert.ok(fs.statSync(path.join(WIDGET, 'vendor', l)).size > 1000, l);
  }
  // Only the frame loads them: the loader stays small.
  const loader = fs.readFileSync(path.join(WIDGET, 'chatbot.js'), 'utf8');
  assert.ok(!/marked|purify/i.test(loader));
});

describe('the Django system\'s embed and host commands', () => {
  test('data-api-key with window.ChatbotConfig: jsonData, instructions, brand guidelines and tone reach the session', async () => {
    const page = await newPage();
    const requests = [];
    page.on('request', (r) => { if (r.url().endsWith('/sessions/create')) requests.push(r.postDataJSON()); });
    const config = {
      jsonData: { products: [{ sku: 'W-1', name: 'Blue widget', price: 12 }] },
      customInstructions: 'Answer in one sentence.',
      brandGuidelines: 'Call the product "widget", never "gadget".',
      tone: 'friendly',
      pageContext: { section: 'catalogue' },
      botName: 'Shop Helper',
    };
    await load(page, djangoUrl({ 'api-key': SHOP_PK, 'user-identifier': 'django@example.com' }, config));
    await openChat(page);
    await chat(page).locator('#bot-name', { hasText: 'Shop Helper' }).waitFor();
    const created = await waitEvent(page, 'session_created');
    assert.equal(created.userId, 'django@example.com');
    const sent = requests[0].config;
    assert.deepEqual(sent.jsonData, config.jsonData);
    assert.match(sent.customInstructions, /^Answer in one sentence\.\n\nBrand guidelines: Call the product "widget", never "gadget"\.\n\nTone: friendly$/);
    assert.equal(sent.brandGuidelines, config.brandGuidelines);
    assert.equal(sent.tone, 'friendly');
    assert.equal(sent.pageContext.section, 'catalogue');
    assert.equal(sent.pageContext.url, page.url());
    const details = await shopSession(created.sessionId);
    assert.equal(details.userIdentifier, 'django@example.com');
    assert.deepEqual(details.config.jsonData, config.jsonData);
    const reply = await send(page, 'What do you sell?');
    assert.match(reply.message, /custom instructions: yes/);
    assert.match(reply.message, /json data: yes/);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('set_brand_settings applies live: name, colours, position, theme, language, welcome and starters', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'brand@example.com' }));
    await openChat(page);
    const before = await launcher(page).boundingBox();
    assert.ok(before.x > 1000, 'right by default');
    await page.evaluate(() => window.postMessage({
      type: 'set_brand_settings',
      data: {
        botName: 'Kettle Helper', botColor: '#0f766e', botMsgBgColor: '#115e59', poweredBy: 'Kettle AI', botIcon: 'K',
        position: 'left', theme: 'dark', language: 'fr',
        welcomeMessage: 'Bonjour ! **Bienvenue** chez Kettle.', starterPrompts: ['Quelle bouilloire ?', 'Livraison ?'],
      },
    }, location.origin));
    const c = chat(page);
    await c.locator('#bot-name', { hasText: 'Kettle Helper' }).waitFor();
    assert.equal(await c.locator('#powered-by').textContent(), 'Propulsé par Kettle AI');
    assert.equal(await c.locator('#bot-icon').textContent(), 'K');
    assert.equal(await c.locator('#input').getAttribute('placeholder'), 'Écrivez un message…');
    assert.equal(await c.locator('html').getAttribute('lang'), 'fr');
    assert.equal(await c.locator('html').getAttribute('data-theme'), 'dark');
    await c.locator('.welcome strong', { hasText: 'Bienvenue' }).waitFor();
    assert.deepEqual(await c.locator('.starters button').allTextContents(), ['Quelle bouilloire ?', 'Livraison ?']);
    assert.equal(await c.locator('.starters').getAttribute('aria-label'), 'Questions suggérées');
    const frame = chatFrame(page);
    const colors = await frame.evaluate(() => ({
      head: getComputedStyle(document.querySelector('.head')).backgroundColor,
      body: getComputedStyle(document.body).backgroundColor,
    }));
    assert.equal(colors.head, 'rgb(15, 118, 110)');
    assert.notEqual(colors.body, 'rgb(255, 255, 255)');
    await poll(async () => (await launcher(page).boundingBox()).x < 100, 'the launcher to move left');
    assert.equal(await launcher(page).getAttribute('aria-label'), 'Fermer le chat');
    const panel = await page.locator('#chatbot-widget iframe').boundingBox();
    assert.ok(panel.x <= 21, `panel on the left: ${panel.x}`);
    await shot(page, 'brand-settings-dark-left-fr');
    // The same through the method, camelCase or as named.
    await page.evaluate(() => window.ChatbotWidget.setBrandSettings({ botName: 'Renamed', theme: 'light', position: 'right' }));
    await c.locator('#bot-name', { hasText: 'Renamed' }).waitFor();
    assert.equal(await c.locator('html').getAttribute('data-theme'), 'light');
    await poll(async () => (await launcher(page).boundingBox()).x > 1000, 'the launcher to move back right');
    await page.evaluate(() => window.ChatbotWidget.set_brand_settings({ botName: 'Again' }));
    await c.locator('#bot-name', { hasText: 'Again' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('send_message, clear_chat, minimize and maximize, by postMessage and as methods', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'django-commands@example.com' }));
    await page.evaluate(() => window.postMessage({ type: 'maximize' }, location.origin));
    await waitEvent(page, 'widget_opened');
    const created = await waitEvent(page, 'session_created');
    await page.evaluate(() => window.postMessage({ type: 'send_message', data: { message: 'sent by the page' } }, location.origin));
    const reply = await waitEvent(page, 'message_received');
    assert.match(reply.message, /You said: "sent by the page"/);
    await chat(page).locator('.msg.user', { hasText: 'sent by the page' }).waitFor();
    await page.evaluate(() => window.postMessage({ type: 'minimize' }, location.origin));
    await waitEvent(page, 'widget_minimized');
    // send_message opens the chat so the visitor sees the exchange.
    await page.evaluate(() => window.ChatbotWidget.sendMessage('and by the method'));
    await waitEvent(page, 'widget_opened', 2);
    await waitEvent(page, 'message_received', 2);
    assert.equal((await api(`messages/history/${created.sessionId}`)).body.messages.length, 4);
    await page.evaluate(() => window.ChatbotWidget.send_message('x'.repeat(10001)));
    const tooLong = await waitEvent(page, 'widget_error');
    assert.equal(tooLong.action, 'send_message');
    assert.equal(tooLong.error, 'Message too long');
    // A secret key (the Django embeds' kind) clears the messages on the server, as that widget did.
    await page.evaluate(() => window.postMessage({ type: 'clear_chat' }, location.origin));
    const cleared = await waitEvent(page, 'chat_cleared');
    assert.equal(cleared.sessionId, created.sessionId);
    assert.equal(await chat(page).locator('.msg').count(), 0);
    assert.equal((await api(`messages/history/${created.sessionId}`)).body.messages.length, 0);
    await page.evaluate(() => window.ChatbotWidget.minimize());
    await waitEvent(page, 'widget_minimized', 2);
    await page.evaluate(() => window.ChatbotWidget.maximize());
    await waitEvent(page, 'widget_opened', 3);
    assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('configure and page_data: page keys are written to the session, instructions ride with the next message', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'configure@example.com' }));
    await openChat(page);
    const created = await waitEvent(page, 'session_created');
    const puts = [];
    const sends = [];
    page.on('request', (r) => {
      if (r.method() === 'PUT' && r.url().endsWith('/config')) puts.push(r.postDataJSON());
      if (/\/messages\/(send|stream)$/.test(r.url())) sends.push(r.postDataJSON());
    });
    await page.evaluate(() => window.postMessage({
      type: 'configure',
      data: { jsonData: { stock: [{ sku: 'W-1', qty: 4 }] }, customInstructions: 'Mention the stock.', pageContext: { title: 'Stock page' } },
    }, location.origin));
    await page.evaluate(() => window.ChatbotWidget.page_data({ pageContent: 'Stock: 4 blue widgets' }));
    const details = await poll(async () => {
      const d = await sessionDetails(created.sessionId);
      return d.config.pageData.pageContent === 'Stock: 4 blue widgets' && d.config.jsonData ? d : null;
    }, 'the page keys to reach the session');
    assert.deepEqual(details.config.jsonData, { stock: [{ sku: 'W-1', qty: 4 }] });
    assert.equal(details.config.pageContext.title, 'Stock page');
    assert.equal(details.config.pageData.hostname, '127.0.0.1', 'page_data is merged, not replaced');
    for (const body of puts) {
      assert.deepEqual(Object.keys(body.config).filter((k) => !['pageContext', 'pageData', 'jsonData'].includes(k)), []);
    }
    const reply = await send(page, 'How many are left?');
    assert.equal(sends.at(-1).config.customInstructions, 'Mention the stock.');
    assert.match(reply.message, /custom instructions: yes/);
    assert.match(reply.message, /json data: yes/);
    // A later configure adds to what the page gave, without repeating it.
    await page.evaluate(() => window.ChatbotWidget.configure({ tone: 'warm' }));
    await page.evaluate(() => window.ChatbotWidget.configure({ brandGuidelines: 'Say widget.' }));
    await send(page, 'And now?');
    assert.deepEqual(sends.at(-1).config, {
      customInstructions: 'Mention the stock.\n\nBrand guidelines: Say widget.\n\nTone: warm',
      brandGuidelines: 'Say widget.', tone: 'warm',
    });
    assert.ok(puts.length >= 2);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('with a pk_ key, a page-context update reaches the session; a refused one is shown and reported', async () => {
    const page = await newPage();
    await load(page, embedUrl({ apiKey: SHOP_PK, userIdentifier: 'pk-context@example.com' }));
    await openChat(page);
    const created = await waitEvent(page, 'session_created');
    await page.evaluate(() => window.ChatbotWidget.updatePageContext({ title: 'Checkout', content: 'Cart: 3 blue widgets' }));
    const details = await poll(async () => {
      const d = await shopSession(created.sessionId);
      return d.config.pageContext.title === 'Checkout' ? d : null;
    }, 'the pk_ page-context update (PUT /sessions/{id}/config with a publishable key)');
    assert.equal(details.config.pageContext.content, 'Cart: 3 blue widgets');
    assert.equal(await chat(page).locator('.note.error').count(), 0);
    // A refusal is not dropped silently: the visitor sees it, the page hears it.
    await page.route(`${ORIGIN}/api/chat/sessions/*/config`, (route) => route.fulfill({
      status: 403, contentType: 'application/json', body: '{"error":"Forbidden","detail":"config key not allowed"}',
    }), { times: 1 });
    await page.evaluate(() => window.ChatbotWidget.updatePageContext({ title: 'Refused' }));
    const failed = await waitEvent(page, 'widget_error');
    assert.equal(failed.action, 'page_context');
    assert.equal(failed.status, 403);
    const error = chat(page).locator('.note.error');
    await error.waitFor();
    assert.match(await error.textContent(), /The page details could not be sent to the assistant: Forbidden: config key not allowed/);
    assert.equal(await error.getAttribute('role'), 'alert');
    await error.getByRole('button', { name: 'Retry' }).click();
    await poll(async () => (await shopSession(created.sessionId)).config.pageContext.title === 'Refused', 'the retried update');
    await page.context().close();
  });
});

describe('replies', () => {
  test('a Markdown table renders as a table, in a focusable scroll region', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'table@example.com' }));
    await openChat(page);
    await send(page, 'Prices:\nall in EUR\n\n| Product | Colour | Price |\n|:--|:-:|--:|\n| Widget | blue | 12.00 |\n| Gadget | ~~red~~ green | 9.50 |\n\nAll in **EUR**.');
    const bubble = lastReply(page);
    const table = bubble.locator('.table[role="region"] table');
    await table.waitFor();
    assert.equal(await bubble.locator('.table').getAttribute('tabindex'), '0');
    assert.equal(await bubble.locator('.table').getAttribute('aria-label'), 'Table');
    assert.deepEqual(await table.locator('th').allTextContents(), ['Product', 'Colour', 'Price']);
    assert.deepEqual(await table.locator('tbody tr').first().locator('td').allTextContents(), ['Widget', 'blue', '12.00']);
    assert.equal(await table.locator('td del').textContent(), 'red');
    assert.equal(await table.locator('th').nth(2).getAttribute('align'), 'right');
    assert.equal(await bubble.locator('strong', { hasText: 'EUR' }).count(), 1);
    assert.equal(await bubble.locator('p').first().locator('br').count(), 1, 'a line break stays a line break');
    await shot(page, 'markdown-table');
    await page.context().close();
  });

  test('copy puts the reply\'s Markdown on the clipboard and says so', async () => {
    const page = await newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: HOST });
    await load(page, embedUrl({ userIdentifier: 'copy@example.com' }));
    await openChat(page);
    const reply = await send(page, 'copy **this**');
    const copy = lastReply(page).getByRole('button', { name: 'Copy reply' });
    await copy.focus();
    await page.keyboard.press('Enter');
    await chat(page).locator('#live', { hasText: 'Copied' }).waitFor();
    // The frame may only write the clipboard (allow="clipboard-write"): read it from the page.
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, reply.message);
    await page.context().close();
  });

  test('clear asks first; Cancel keeps the conversation, Clear starts afresh (pk_: a new session)', async () => {
    const page = await newPage();
    await load(page, embedUrl({ apiKey: SHOP_PK, userIdentifier: 'clear@example.com' }));
    await openChat(page);
    const first = await waitEvent(page, 'session_created');
    await send(page, 'keep me for a moment');
    const c = chat(page);
    await c.getByRole('button', { name: 'Clear conversation' }).click();
    const dialog = c.locator('dialog#confirm');
    await dialog.waitFor();
    assert.equal(await chatFrame(page).evaluate(() => document.activeElement.id), 'confirm-no');
    await shot(page, 'clear-confirmation');
    await page.keyboard.press('Escape'); // cancels the dialog, does not close the chat
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
    assert.equal(await chatFrame(page).evaluate(() => document.activeElement.id), 'clear');
    assert.equal(await c.locator('.msg').count(), 2);
    await c.getByRole('button', { name: 'Clear conversation' }).click();
    await c.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await c.locator('.msg').count(), 2);
    await c.getByRole('button', { name: 'Clear conversation' }).click();
    await c.locator('#confirm-yes').click();
    await waitEvent(page, 'chat_cleared');
    const second = await waitEvent(page, 'session_created', 2);
    assert.notEqual(second.sessionId, first.sessionId);
    assert.equal(await c.locator('.msg').count(), 0);
    await c.locator('#live', { hasText: 'The conversation was cleared.' }).waitFor();
    // The old conversation stays in the tenant's records.
    assert.equal((await apiAs(SHOP_KEY, `messages/history/${first.sessionId}`)).body.messages.length, 2);
    await page.reload();
    await waitEvent(page, 'widget_ready');
    assert.equal((await waitEvent(page, 'session_restored')).sessionId, second.sessionId);
    await page.context().close();
  });

  test('the character counter appears near the 10,000-character limit', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'counter@example.com' }));
    await openChat(page);
    const c = chat(page);
    const counter = c.locator('#counter');
    await c.locator('#input').fill('x'.repeat(100));
    assert.equal(await counter.isVisible(), false);
    await c.locator('#input').fill('x'.repeat(9500));
    await counter.waitFor();
    assert.equal(await counter.textContent(), '9,500 / 10,000');
    await c.locator('#live', { hasText: '500 characters left' }).waitFor();
    await c.locator('#input').fill('x'.repeat(10000));
    assert.equal(await counter.textContent(), '10,000 / 10,000');
    assert.match(await counter.getAttribute('class'), /full/);
    await c.locator('#live', { hasText: 'Character limit reached' }).waitFor();
    assert.equal(await c.locator('#input').getAttribute('aria-describedby'), 'counter');
    await shot(page, 'character-counter');
    await page.context().close();
  });

  test('thumbs up and down on a reply: pressed state, keyboard, and POST /messages/feedback with its messageId', async () => {
    const page = await newPage();
    await load(page, embedUrl({ apiKey: SHOP_PK, userIdentifier: 'thumbs@example.com' }));
    const posted = [];
    page.on('request', (r) => { if (r.url().endsWith('/messages/feedback')) posted.push(r.postDataJSON()); });
    await openChat(page);
    const created = await waitEvent(page, 'session_created');
    const reply = await send(page, 'rate me');
    assert.match(reply.messageId || '', /^[0-9a-f-]{36}$/, 'the stream\'s done event carries messageId (contract 1)');
    const up = lastReply(page).getByRole('button', { name: 'Helpful', exact: true });
    const down = lastReply(page).getByRole('button', { name: 'Not helpful' });
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    await up.focus();
    await page.keyboard.press('Enter');
    const rated = await waitEvent(page, 'feedback_submitted');
    assert.deepEqual(rated, { ...rated, sessionId: created.sessionId, messageId: reply.messageId, rating: 'up' });
    assert.equal(await up.getAttribute('aria-pressed'), 'true');
    await chat(page).locator('#live', { hasText: 'Thanks for your feedback.' }).waitFor();
    await down.focus();
    await page.keyboard.press('Space');
    await waitEvent(page, 'feedback_submitted', 2);
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    assert.equal(await down.getAttribute('aria-pressed'), 'true');
    assert.deepEqual(posted, [
      { sessionId: created.sessionId, messageId: reply.messageId, rating: 'up' },
      { sessionId: created.sessionId, messageId: reply.messageId, rating: 'down' },
    ]);
    // After a reload the restored reply can still be rated (history carries
    // messageId), and this tab remembers the rating.
    await page.reload();
    await waitEvent(page, 'session_restored');
    await lastReply(page).getByRole('button', { name: 'Helpful', exact: true }).waitFor();
    assert.equal(await lastReply(page).getByRole('button', { name: 'Not helpful' }).getAttribute('aria-pressed'), 'true');
    // A failure puts the button back and says so.
    await page.route(`${ORIGIN}/api/chat/messages/feedback`, (route) => route.fulfill({
      status: 503, contentType: 'application/json', body: '{"error":"Storage unavailable"}',
    }), { times: 1 });
    const upAgain = lastReply(page).getByRole('button', { name: 'Helpful', exact: true });
    await upAgain.click();
    const error = chat(page).locator('.note.error');
    await error.waitFor();
    assert.match(await error.textContent(), /Your rating could not be saved: Storage unavailable/);
    assert.equal(await upAgain.getAttribute('aria-pressed'), 'false');
    assert.equal(await lastReply(page).getByRole('button', { name: 'Not helpful' }).getAttribute('aria-pressed'), 'true');
    await shot(page, 'feedback');
    await page.context().close();
  });

  test('thumbs are not offered for a reply without a messageId', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'no-id@example.com' }));
    await page.route(`${ORIGIN}/api/chat/messages/stream`, (route) => route.fulfill({
      status: 200, headers: { 'Content-Type': 'text/event-stream' },
      body: `event: done\ndata: ${JSON.stringify({ response: 'no id here', sessionId: 'x', messageCount: 2 })}\n\n`,
    }));
    await openChat(page);
    await send(page, 'hi');
    assert.equal(await lastReply(page).locator('.act.up').count(), 0);
    assert.equal(await lastReply(page).locator('.act.copy').count(), 1);
    await page.context().close();
  });
});

describe('the visitor\'s language and theme; the tenant\'s welcome and starters', () => {
  test('the browser\'s language: Spanish words throughout, the launcher included', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'es-ES' });
    const page = await context.newPage();
    await load(page, embedUrl({ userIdentifier: 'es@example.com' }));
    await poll(async () => (await launcher(page).getAttribute('aria-label')) === 'Abrir el chat', 'the Spanish launcher label');
    await openChat(page);
    const c = chat(page);
    assert.equal(await c.locator('html').getAttribute('lang'), 'es');
    assert.equal(await c.locator('#input').getAttribute('placeholder'), 'Escribe un mensaje…');
    assert.equal(await c.locator('#clear').getAttribute('aria-label'), 'Borrar la conversación');
    assert.equal(await c.locator('#send').getAttribute('aria-label'), 'Enviar');
    assert.equal(await page.locator('#chatbot-widget iframe').getAttribute('title'), 'Chat');
    await send(page, 'Hola');
    assert.equal(await lastReply(page).locator('.act.copy').getAttribute('aria-label'), 'Copiar la respuesta');
    await shot(page, 'language-es');
    await context.close();
  });

  test('Hindi, German and Portuguese from the settings', async () => {
    const page = await newPage();
    await load(page, embedUrl({ userIdentifier: 'hi@example.com' }));
    await openChat(page);
    const c = chat(page);
    for (const [language, placeholder] of [['hi', 'संदेश लिखें…'], ['de-AT', 'Nachricht eingeben…'], ['pt-BR', 'Digite uma mensagem…'], ['xx', 'Type a message…']]) {
      await page.evaluate((l) => window.ChatbotWidget.setBrandSettings({ language: l }), language);
      await poll(async () => (await c.locator('#input').getAttribute('placeholder')) === placeholder, `${language}: ${placeholder}`);
    }
    await page.evaluate(() => window.ChatbotWidget.setBrandSettings({ language: 'hi' }));
    await c.locator('html[lang="hi"]').waitFor();
    await send(page, 'नमस्ते');
    await shot(page, 'language-hi');
    await page.context().close();
  });

  test('dark theme, and auto following the visitor\'s system', async () => {
    const page = await newPage({ width: 1280, height: 800 });
    await load(page, djangoUrl({ 'api-key': KEY, 'user-identifier': 'dark@example.com' }, { theme: 'dark' }));
    await openChat(page);
    await send(page, 'Dark mode:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```');
    const frame = chatFrame(page);
    const dark = await frame.evaluate(() => ({
      body: getComputedStyle(document.body).backgroundColor,
      ink: getComputedStyle(document.body).color,
      scheme: getComputedStyle(document.documentElement).colorScheme,
    }));
    assert.equal(dark.body, 'rgb(27, 30, 38)');
    assert.equal(dark.ink, 'rgb(232, 234, 240)');
    assert.equal(dark.scheme, 'dark');
    await shot(page, 'theme-dark');
    await page.evaluate(() => window.ChatbotWidget.setBrandSettings({ theme: 'auto' }));
    await page.emulateMedia({ colorScheme: 'light' });
    await poll(async () => (await frame.evaluate(() => getComputedStyle(document.body).backgroundColor)) === 'rgb(255, 255, 255)', 'auto: light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await poll(async () => (await frame.evaluate(() => getComputedStyle(document.body).backgroundColor)) === 'rgb(27, 30, 38)', 'auto: dark');
    await page.context().close();
  });

  test('prefers-reduced-motion stops the typing animation', async () => {
    const page = await newPage();
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await load(page, embedUrl({ userIdentifier: 'motion@example.com' }));
    const name = await chatFrame(page).evaluate(() => {
      document.getElementById('typing').hidden = false;
      return getComputedStyle(document.querySelector('#typing span')).animationName;
    });
    assert.equal(name, 'none');
    await page.context().close();
  });

  test('the tenant\'s welcome message and starter prompts (bot-config); a starter sends itself', async () => {
    const settings = await apiAs(SHOP_KEY, '../tenant/settings', {
      method: 'PATCH',
      body: JSON.stringify({ bot: { welcomeMessage: 'Hi! I can help with **widgets**.', starterPrompts: ['Which widget?', 'Shipping times?'], position: 'left', language: 'de' } }),
    });
    assert.equal(settings.status, 200, `PATCH /api/tenant/settings (contract 6): ${JSON.stringify(settings.body)}`);
    const config = await apiAs(SHOP_PK, 'sessions/bot-config');
    assert.equal(config.body.welcomeMessage, 'Hi! I can help with **widgets**.', 'bot-config carries welcomeMessage (contract 3)');
    const page = await newPage();
    await load(page, embedUrl({ apiKey: SHOP_PK, userIdentifier: 'starters@example.com' }));
    await openChat(page);
    const c = chat(page);
    await c.locator('.welcome strong', { hasText: 'widgets' }).waitFor();
    assert.equal(await c.locator('#input').getAttribute('placeholder'), 'Nachricht eingeben…');
    await poll(async () => (await launcher(page).boundingBox()).x < 100, 'position: left from the settings');
    const starters = c.getByRole('group', { name: 'Vorgeschlagene Fragen' }).getByRole('button');
    assert.deepEqual(await starters.allTextContents(), ['Which widget?', 'Shipping times?']);
    await shot(page, 'welcome-starters');
    await starters.nth(1).click();
    const reply = await waitEvent(page, 'message_received');
    assert.match(reply.message, /You said: "Shipping times\?"/);
    assert.equal(await c.locator('.starters').count(), 0, 'the starters go once the conversation starts');
    assert.equal(await c.locator('.welcome').count(), 1, 'the welcome stays');
    await page.context().close();
    const reset = await apiAs(SHOP_KEY, '../tenant/settings', {
      method: 'PATCH', body: JSON.stringify({ bot: { welcomeMessage: null, starterPrompts: [], position: 'right', language: null } }),
    });
    assert.equal(reset.status, 200);
  });
});

test('a streamed reply is announced once, whole; the chat is a non-modal dialog', async () => {
  const page = await newPage();
  await load(page, embedUrl({ userIdentifier: 'announce@example.com' }));
  await page.route(`${ORIGIN}/api/chat/messages/stream`, async (route) => {
    const { sessionId } = route.request().postDataJSON();
    const done = { response: 'One two three.', sessionId, messageCount: 2 };
    await route.fulfill({
      status: 200, headers: { 'Content-Type': 'text/event-stream' },
      body: ['One ', 'two ', 'three.'].map((t) => `event: delta\ndata: ${JSON.stringify({ text: t })}\n\n`).join('') +
        `event: done\ndata: ${JSON.stringify(done)}\n\n`,
    });
  });
  await openChat(page);
  await waitEvent(page, 'session_created');
  await chatFrame(page).evaluate(() => {
    window.__announced = [];
    new MutationObserver(() => window.__announced.push(document.getElementById('live').textContent))
      .observe(document.getElementById('live'), { childList: true, characterData: true, subtree: true });
  });
  await send(page, 'count');
  assert.deepEqual(await chatFrame(page).evaluate(() => window.__announced), ['Claude Assistant: One two three.']);
  const dialog = chat(page).getByRole('dialog');
  assert.equal(await dialog.getAttribute('aria-modal'), null, 'the page stays usable beside the chat');
  assert.equal(await dialog.getAttribute('aria-labelledby'), 'bot-name');
  await page.context().close();
});

describe('a publishable key works only where its tenant allows', () => {
  test('on a site outside the allowed origins the frame is refused (CSP frame-ancestors), for either kind of key', async () => {
    for (const key of [SHOP_PK, SHOP_KEY]) {
      const page = await newPage();
      const api = [];
      page.on('request', (r) => { if (r.url().startsWith(`${ORIGIN}/api/`)) api.push(r.url()); });
      await page.goto(`${OTHER}/embed?q=${encodeURIComponent(`apiKey=${key}`)}`);
      const src = await page.locator('#chatbot-widget iframe').getAttribute('src');
      assert.equal(new URL(src).searchParams.get('apiKey'), key, 'the key rides in the frame URL');
      const failed = await waitEvent(page, 'widget_error');
      assert.equal(failed.action, 'load');
      assert.deepEqual((await events(page)).map((e) => e.type), ['widget_error'], 'no widget_ready: the frame never ran');
      assert.deepEqual(api, []);
      assert.ok(page.errors.some((e) => /frame-ancestors/.test(e)), page.errors.join('\n'));
      await page.context().close();
    }
  });

  test('a frame loaded without the key in its URL will not use a key it is handed', async () => {
    const page = await newPage();
    const api = [];
    page.on('request', (r) => { if (r.url().startsWith(`${ORIGIN}/api/`)) api.push(r.url()); });
    const q = new URLSearchParams({ frame: `${ORIGIN}/widget/frame.html`, key: SHOP_PK });
    await page.goto(`${OTHER}/forge?${q}`);
    const frame = page.frameLocator('iframe');
    const error = frame.locator('.note.error');
    await error.waitFor();
    assert.match(await error.textContent(), /This chat is not set up correctly/);
    assert.deepEqual(api, [], 'nothing asked of the API');
    await page.context().close();
  });
});

test('userSignature (URL or data-user-signature) goes with the session and every later request', async () => {
  const page = await newPage();
  const seen = [];
  page.on('request', (r) => {
    if (r.url().startsWith(`${ORIGIN}/api/chat/`)) seen.push({ url: r.url(), signature: r.headers()['x-user-signature'], body: r.postData() });
  });
  await load(page, djangoUrl({ 'api-key': KEY, 'user-identifier': 'signed@example.com', 'user-signature': 'ab12cd' }));
  await openChat(page);
  await waitEvent(page, 'session_created');
  await send(page, 'signed');
  const create = seen.find((r) => r.url.endsWith('/sessions/create'));
  assert.equal(JSON.parse(create.body).userSignature, 'ab12cd');
  for (const r of seen) assert.equal(r.signature, 'ab12cd', r.url);
  assert.ok(seen.some((r) => /\/messages\/(send|stream)$/.test(r.url)));
  await page.context().close();
});

test('a host page whose CSP forbids inline styles still gets a styled, working widget', async () => {
  const page = await newPage();
  await load(page, embedUrl({ userIdentifier: 'strict-csp@example.com' }, '&csp=1'));
  const box = await launcher(page).boundingBox();
  assert.deepEqual([box.x, box.y, box.width, box.height], [1280 - 20 - 60, 800 - 20 - 60, 60, 60]);
  await openChat(page);
  const reply = await send(page, 'strict page');
  assert.match(reply.message, /You said: "strict page"/);
  assert.deepEqual(page.errors, [], 'nothing blocked by the page\'s policy');
  await page.context().close();
});

test('a reply drawn from the knowledge base lists its sources as links under it, in history too', async () => {
  // The tenant's help page, on a local server (run.sh lets chatctl serve
  // fetch from 127.0.0.1 with KNOWLEDGE_ALLOW_PRIVATE_URLS, a test-only switch).
  const help = await listen((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<html><head><title>Delivery times</title></head><body><h1>Delivery times</h1>'
      + '<p>Parcels to Lisbon arrive in two working days; parcels to the Azores take a week.</p></body></html>');
  });
  const tenantApi = `${ORIGIN}/api/tenant/knowledge`;
  const added = await fetch(tenantApi, {
    method: 'POST',
    headers: { 'X-API-Key': SHOP_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ url: `${help}/delivery` }),
  });
  const doc = await added.json();
  assert.equal(added.status, 201, JSON.stringify(doc));
  try {
    const page = await newPage();
    const q = new URLSearchParams({ apiKey: SHOP_PK, userIdentifier: 'sources@example.com' }).toString();
    await load(page, `${HOST}/embed?q=${encodeURIComponent(q)}`);
    await openChat(page);
    await send(page, 'When do parcels to Lisbon arrive?');
    const link = chat(page).locator('.msg.assistant .sources a', { hasText: 'Delivery times' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), `${help}/delivery`);
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await chat(page).locator('.msg.assistant .sources .label').textContent(), 'Sources');
    await page.screenshot({ path: path.join(SHOTS, 'sources.png') });
    // Reopened later, the conversation shows them again (from history).
    await page.reload();
    await waitEvent(page, 'widget_ready');
    await waitEvent(page, 'session_restored');
    await chat(page).locator('.msg.assistant .sources a', { hasText: 'Delivery times' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  } finally {
    const gone = await fetch(`${tenantApi}/${doc.documentId}`, { method: 'DELETE', headers: { 'X-API-Key': SHOP_KEY } });
    assert.equal(gone.status, 200);
  }
});
