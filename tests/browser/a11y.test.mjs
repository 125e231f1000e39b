// Accessibility by measurement: axe-core at WCAG 2.2 AA (axe.mjs) on every
// state of the widget, at desktop and 360 px, in the host page and in the
// widget's own frame; on every page of the console; keyboard reach and
// announcements. tests/browser/run.sh starts the server (CHAT_API,
// CHAT_KEY); host pages are served here from another origin. Screenshots
// of the default, a dark and a badly coloured theme go to
// target/widget-screenshots/ for a person to look at.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { checkA11y } from './axe.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.CHATBOT_SCREENSHOTS || path.join(HERE, '..', '..', 'target', 'widget-screenshots');
const API = process.env.CHAT_API;
const KEY = process.env.CHAT_KEY;
const LANGUAGES = ['en', 'es', 'fr', 'de', 'pt', 'hi']; // widget/frame-i18n.js
const TABLE = '| Product | Colour | Price |\n|:--|:-:|--:|\n| Widget | blue | 12.00 |\n| Gadget | green | 9.50 |';

let browser;
let ORIGIN;
let HOST;
let server;

before(async () => {
  assert.ok(API && KEY, 'CHAT_API and CHAT_KEY must name a running chatctl serve: run tests/browser/run.sh');
  ORIGIN = new URL(API).origin;
  server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://host');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme Store</title>
<script>window.__events = []; addEventListener('message', (e) => { if (e.data && e.data.source === 'chatbot-widget') __events.push(e.data); });</script>
</head><body><main><h1>Acme Store</h1><p>Blue widgets ship in two days.</p><a href="#top">Back to top</a></main>
<script src="${ORIGIN}/widget/chatbot.js?${url.searchParams.get('q') || ''}"></script></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  HOST = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (server) { server.closeAllConnections(); server.close(); }
});

// --- the widget ----------------------------------------------------------------

async function widgetPage(viewport, user, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  const q = new URLSearchParams({ apiKey: KEY, userIdentifier: user }).toString();
  await page.goto(`${HOST}/?q=${encodeURIComponent(q)}`);
  await waitEvent(page, 'widget_ready');
  return page;
}

async function waitEvent(page, type, count = 1) {
  await page.waitForFunction(([t, n]) => window.__events.filter((e) => e.type === t).length >= n, [type, count], { timeout: 15000 });
}
const count = (page, type) => page.evaluate((t) => window.__events.filter((e) => e.type === t).length, type);

function chatFrame(page) {
  return page.frames().find((f) => f.url().startsWith(`${ORIGIN}/widget/frame.html`));
}
const chat = (page) => page.frameLocator('#chatbot-widget iframe');
const launcher = (page) => page.locator('#chatbot-widget button.l');

async function send(page, text) {
  const before = await count(page, 'message_received');
  await chat(page).locator('#input').fill(text);
  await chat(page).locator('#input').press('Enter');
  await waitEvent(page, 'message_received', before + 1);
}

async function brand(page, settings) {
  await page.evaluate((s) => window.ChatbotWidget.setBrandSettings(s), settings);
}

// A stream that stays open until the test lets it finish: the frame's
// fetch of /messages/stream answers with a stream this test feeds.
async function holdStream(page) {
  await chatFrame(page).evaluate(() => {
    const real = window.fetch;
    window.fetch = (url, init) => {
      if (!String(url).endsWith('/messages/stream')) return real(url, init);
      const body = JSON.parse(init.body);
      const encoder = new TextEncoder();
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode('event: delta\ndata: {"text":"Half a **reply**, still"}\n\n'));
          window.__finishStream = () => {
            const done = { response: 'Half a **reply**, still coming. Done.', sessionId: body.sessionId, messageCount: 2 };
            controller.enqueue(encoder.encode(`event: delta\ndata: {"text":" coming. Done."}\n\nevent: done\ndata: ${JSON.stringify(done)}\n\n`));
            controller.close();
            window.fetch = real;
          };
        },
      });
      return Promise.resolve(new Response(stream, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }));
    };
  });
}

for (const [label, viewport] of [['desktop', { width: 1280, height: 800 }], ['360 px', { width: 360, height: 740 }]]) {
  describe(`the widget at ${label}`, () => {
    test('every state passes axe-core at WCAG 2.2 AA', async (t) => {
      const page = await widgetPage(viewport, `a11y-${viewport.width}@example.com`);
      const check = (state) => checkA11y(t, page, `${label}, ${state}`);
      await check('closed launcher');

      await launcher(page).click();
      await waitEvent(page, 'session_created');
      await brand(page, { welcomeMessage: 'Hi! I can help with **widgets**.', starterPrompts: ['Which widget?', 'Shipping times?'] });
      await chat(page).locator('.starters button').first().waitFor();
      await check('open, empty, welcome and starter prompts');

      await send(page, 'Do you ship **blue** widgets?\n\n- fast\n- cheap\n\nSee [the docs](https://example.com/docs) and `code`.');
      await check('a conversation');

      await send(page, `Prices:\n\n${TABLE}`);
      await chat(page).locator('.msg.assistant .table table').last().waitFor();
      await check('a Markdown table');

      await chat(page).locator('#file').setInputFiles({
        name: 'sales.csv', mimeType: 'text/csv', buffer: Buffer.from('id,product,revenue\n1,Widget,120.5\n2,Gadget,99\n'),
      });
      await chat(page).locator('.note.file').waitFor();
      assert.match(await chat(page).locator('#live').textContent(), /sales\.csv uploaded/, 'the upload result is announced');
      await check('a file uploaded');

      await holdStream(page);
      await chat(page).locator('#input').fill('stream slowly');
      await chat(page).locator('#input').press('Enter');
      await chat(page).locator('.msg.assistant', { hasText: 'Half a reply, still' }).waitFor();
      await check('streaming');
      const before = await count(page, 'message_received');
      await chatFrame(page).evaluate(() => window.__finishStream());
      await waitEvent(page, 'message_received', before + 1);

      await page.route(`${ORIGIN}/api/chat/messages/stream`, (route) => route.fulfill({
        status: 502, contentType: 'application/json',
        body: JSON.stringify({ error: 'Failed to process message', detail: 'The AI provider did not answer in time' }),
      }));
      await chat(page).locator('#input').fill('this one fails');
      await chat(page).locator('#input').press('Enter');
      await chat(page).locator('.note.error button').waitFor();
      assert.equal(await chat(page).locator('.note.error').getAttribute('role'), 'alert', 'errors are announced');
      await check('an error with Retry');
      await page.unroute(`${ORIGIN}/api/chat/messages/stream`);
      if (viewport.width > 400) await page.screenshot({ path: path.join(SHOTS, 'a11y-default.png') });

      await chat(page).locator('#clear').click();
      await chat(page).locator('#confirm[open]').waitFor();
      await check('the clear confirmation');
      await chat(page).locator('#confirm-no').click();

      await brand(page, { theme: 'dark' });
      await chat(page).locator('html[data-theme="dark"]').waitFor();
      await check('dark theme');
      if (viewport.width > 400) await page.screenshot({ path: path.join(SHOTS, 'a11y-dark.png') });
      await brand(page, { theme: 'light' });

      for (const language of LANGUAGES) {
        await brand(page, { language });
        await chat(page).locator(`html[lang="${language}"]`).waitFor();
        await check(`language ${language}`);
      }
      if (viewport.width <= 400) await page.screenshot({ path: path.join(SHOTS, 'a11y-hi-360.png') });
      await brand(page, { language: 'en' });

      // Colours tenants pick that would be unreadable as given.
      for (const [color, name] of [['#ffff00', 'yellow'], ['#777777', 'mid-grey'], ['#ffffff', 'white'], ['#111111', 'near-black']]) {
        await brand(page, { botColor: color, botMsgBgColor: color });
        await page.waitForTimeout(100);
        await check(`bot colour ${color}`);
        if (viewport.width > 400 && (name === 'yellow' || name === 'mid-grey')) {
          await page.screenshot({ path: path.join(SHOTS, `a11y-${name}.png`) });
        }
      }
      await brand(page, { botColor: '#ffff00', botMsgBgColor: '#ffff00', theme: 'dark' });
      await chat(page).locator('html[data-theme="dark"]').waitFor();
      await check('yellow, dark theme');
      if (viewport.width > 400) await page.screenshot({ path: path.join(SHOTS, 'a11y-yellow-dark.png') });
      assert.deepEqual(page.errors, []);
      await page.context().close();
    });
  });
}

test('keyboard: Tab reaches every control with a visible focus, and leaves the open chat (no trap)', async () => {
  const page = await widgetPage({ width: 1280, height: 800 }, 'a11y-keys@example.com');
  await launcher(page).focus();
  await page.keyboard.press('Enter');
  await waitEvent(page, 'session_created');
  const frame = chatFrame(page);
  await frame.waitForFunction(() => document.activeElement && document.activeElement.id === 'input');
  await send(page, `A table:\n\n${TABLE}`);
  await chat(page).locator('#input').focus();
  // Shift+Tab back through the chat to its first control, then Tab forward
  // through all of it and out into the page again.
  const seen = [];
  for (let i = 0; i < 30; i++) {
    const where = await frame.evaluate(() => {
      if (!document.hasFocus()) return null;
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return {
        name: el.id ? `#${el.id}` : `.${[...el.classList].join('.')}` || el.tagName,
        visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
      };
    });
    if (!where) break;
    seen.push(where);
    await page.keyboard.press('Tab');
  }
  const names = seen.map((s) => s.name);
  for (const control of ['#input', '#send']) assert.ok(names.includes(control), `${control} in ${names}`);
  assert.ok(seen.every((s) => s.visible), `every focused control shows its focus: ${JSON.stringify(seen.filter((s) => !s.visible))}`);
  assert.ok(seen.length < 30, 'Tab leaves the chat');
  const out = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
  assert.notEqual(out, 'IFRAME', 'focus moved on into the host page');

  // From the top of the chat: the header's controls, the log and the reply's.
  await chat(page).locator('#clear').focus();
  const order = [];
  for (let i = 0; i < 12; i++) {
    order.push(await frame.evaluate(() => {
      const el = document.activeElement;
      return el.id ? `#${el.id}` : `.${[...el.classList].join('.')}`;
    }));
    await page.keyboard.press('Tab');
  }
  for (const control of ['#clear', '#close', '#log', '.table', '.act.copy', '#attach', '#input', '#send']) {
    assert.ok(order.includes(control), `${control} is reachable by Tab: ${order}`);
  }
  // Escape closes from anywhere in the chat; focus returns to the launcher.
  await chat(page).locator('.act.copy').last().focus();
  await page.keyboard.press('Escape');
  await waitEvent(page, 'widget_minimized');
  const back = await page.evaluate(() => {
    const l = document.getElementById('chatbot-widget').shadowRoot.activeElement;
    return { name: l && l.className, outline: l && getComputedStyle(l).outlineStyle };
  });
  assert.deepEqual(back, { name: 'l', outline: 'solid' }, 'focus is back on the launcher, visibly');
  await page.context().close();
});

test('prefers-reduced-motion (emulated for the context): no typing animation', async () => {
  const page = await widgetPage({ width: 1280, height: 800 }, 'a11y-motion@example.com', { reducedMotion: 'reduce' });
  await launcher(page).click();
  const name = await chatFrame(page).evaluate(() => {
    document.getElementById('typing').hidden = false;
    return [...document.querySelectorAll('#typing span:not(.sr)')].map((s) => getComputedStyle(s).animationName);
  });
  assert.deepEqual(name, ['none', 'none', 'none']);
  await page.context().close();
});

// --- the console ---------------------------------------------------------------

async function consoleApi(pathname, body) {
  const res = await fetch(`${ORIGIN}${pathname}`, {
    method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return res.json();
}

for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['360 px', { width: 360, height: 780 }]]) {
  test(`every console page passes axe-core at WCAG 2.2 AA (${label})`, async (t) => {
    const created = await consoleApi('/api/chat/sessions/create', { config: { aiProvider: 'dummy' }, user_identifier: `a11y-console-${viewport.width}@example.com` });
    const sessionId = created.sessionId || created.session_id;
    await consoleApi('/api/chat/messages/send', { sessionId, message: 'Is there a **table**?' });
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on('dialog', (d) => d.dismiss());
    const check = (state) => checkA11y(t, page, `console ${label}, ${state}`);
    await page.goto(`${ORIGIN}/console/`);
    await page.getByLabel('Secret API key').waitFor();
    await check('sign-in');
    await page.getByLabel('Secret API key').fill('pk_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Use a secret key').waitFor();
    await check('sign-in with an error');
    await page.getByLabel('Secret API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.locator('#chart-feedback canvas').first().waitFor();
    await check('overview');
    for (const [hash, ready, state] of [
      ['#/conversations', '#sessions tbody tr', 'conversations'],
      [`#/conversations/${sessionId}`, '#transcript > li', 'a transcript'],
      ['#/keys', '#keys tbody tr', 'keys'],
      ['#/knowledge', '#knowledge-file', 'knowledge'],
    ]) {
      await page.goto(`${ORIGIN}/console/${hash}`);
      await page.locator(ready).first().waitFor();
      await check(state);
    }
    await page.goto(`${ORIGIN}/console/#/settings`);
    await page.getByText('Preview ready.').waitFor({ timeout: 20000 });
    await page.waitForTimeout(500);
    await check('settings with the live preview');
    // A colour under AA: the field says so, with the widget's fix.
    await page.locator('#set-bot-color').fill('#777777');
    const report = page.locator('#set-bot-color-contrast');
    assert.match(await report.textContent(), /4\.47:1, below WCAG AA/);
    assert.match(await page.locator('#set-bot-color').getAttribute('aria-describedby'), /set-bot-color-contrast/);
    if (viewport.width > 400) {
      await page.locator('#set-bot-color').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, 'a11y-console-colour.png') });
    }
    await page.locator('#set-bot-color').fill('#ffff00');
    assert.match(await report.textContent(), /meets WCAG AA/);
    await page.waitForTimeout(500);
    await check('settings with a yellow preview');
    await page.locator('#set-bot-color').fill('not a colour');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('[aria-invalid="true"]').first().waitFor();
    await check('settings with a field error');
    await context.close();
  });
}
