// The live preview beside the settings: the real widget, embedded with the
// tenant's publishable key in a page of its own (preview.html), so the
// widget's launcher and styles stay out of the console's page and the
// console keeps its stricter policy. Branding reaches the widget through
// its `set_brand_settings` host command, relayed by preview-frame.js.
import { api, WIDGET_BASE } from '../api.js';
import { h } from '../ui.js';

const NS = 'chat-console-preview';

/** The `set_brand_settings` arguments for `settings`. */
export function brandOf(settings) {
  const bot = (settings && settings.bot) || {};
  return {
    botName: bot.name ?? null,
    botColor: bot.color ?? null,
    botMsgBgColor: bot.msgBgColor ?? null,
    poweredBy: bot.poweredBy ?? null,
    botIcon: bot.icon ?? null,
    position: bot.position ?? null,
    theme: bot.theme ?? null,
    language: bot.language ?? null,
    welcomeMessage: bot.welcomeMessage ?? null,
    starterPrompts: bot.starterPrompts ?? [],
  };
}

export function preview() {
  const status = h('p', { class: 'preview-status', role: 'status' }, 'Loading the preview…');
  const frame = h('iframe', {
    id: 'widget-preview', title: 'Widget preview', src: 'preview.html', loading: 'eager',
    referrerpolicy: 'no-referrer',
  });
  const element = h('section', { class: 'card preview', 'aria-labelledby': 'preview-title' },
    h('h2', { id: 'preview-title' }, 'Preview'),
    h('p', { class: 'hint' }, 'Your widget as visitors see it; it follows your edits before you save.'),
    status, frame);

  let key = null;
  let frameHello = false;
  let latest = null;
  let debounce = null;

  const post = (msg) => frame.contentWindow && frame.contentWindow.postMessage({ ns: NS, ...msg }, location.origin);
  const init = () => {
    if (!key || !frameHello) return;
    post({ type: 'init', apiKey: key, widgetBase: WIDGET_BASE });
    if (latest) post({ type: 'brand', brand: latest });
  };

  function onMessage(e) {
    const d = e.data;
    if (e.origin !== location.origin || e.source !== frame.contentWindow || !d || d.ns !== NS) return;
    if (d.type === 'hello') { frameHello = true; init(); }
    if (d.type === 'ready') status.textContent = 'Preview ready.';
    if (d.type === 'failed') status.textContent = `The preview could not start: ${d.reason}`;
  }
  window.addEventListener('message', onMessage);

  api.widgetCode().then((code) => {
    const match = /\b(pk_[A-Za-z0-9_-]{8,})/.exec((code && code.html) || '');
    if (!match) { status.textContent = 'No publishable key to preview with (create one on the Keys page).'; return; }
    key = match[1];
    init();
  }, (e) => { status.textContent = `The preview could not start: ${e.message}`; });

  return {
    element,
    /** Shows `brand` in the widget (debounced while typing). */
    brand(brand) {
      latest = brand;
      clearTimeout(debounce);
      debounce = setTimeout(() => { if (frameHello) post({ type: 'brand', brand: latest }); }, 120);
    },
    leave() {
      clearTimeout(debounce);
      window.removeEventListener('message', onMessage);
    },
  };
}
