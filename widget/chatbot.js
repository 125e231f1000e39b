/*
 * Chat widget loader. Embed with
 *   <script src="https://API-HOST/widget/chatbot.js?apiKey=pk_xxx"></script>
 * or, as the Django system's later widget,
 *   <script>window.ChatbotConfig = { jsonData: {...}, customInstructions: '...' };</script>
 *   <script src="https://API-HOST/widget/chatbot.js" data-api-key="pk_xxx"></script>
 * Options (script URL query, else data-* attribute, else ChatbotConfig):
 * apiKey (required), userIdentifier, userSignature, noTracking=true.
 * ChatbotConfig may also carry the session's pageContext, pageData,
 * jsonData, customInstructions, brandGuidelines and tone, and brand
 * settings (as set_brand_settings takes them).
 * Adds a launcher button and an iframe (frame.html, served from the API's
 * origin) inside a shadow root, so the host page's CSS and scripts and the
 * widget stay out of each other's way. Events reach the host page through
 * window.postMessage (target origin: the page's own origin); commands are on
 * window.ChatbotWidget or sent to the page with postMessage. See README.
 */
(function () {
  'use strict';
  if (window.ChatbotWidget) return; // embedded twice: the first one wins

  var VERSION = 1;
  var SOURCE = 'chatbot-widget';
  var FROM_FRAME = 'chatbot-widget-frame';
  var TO_FRAME = 'chatbot-widget-loader';
  var USER_KEY = 'chatbot_user_id';

  var script = document.currentScript ||
    document.querySelector('script[src*="/widget/chatbot.js"]');
  if (!script) return;
  var src = new URL(script.src, location.href);
  var params = src.searchParams;
  var given = window.ChatbotConfig && typeof window.ChatbotConfig === 'object' ? window.ChatbotConfig : {};
  function option(name, attr) {
    var v = params.get(name);
    if (v == null) v = script.getAttribute('data-' + attr);
    if (v == null && given[name] != null) v = String(given[name]);
    return v == null || v === '' ? null : v;
  }
  function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function copy(into, from) {
    for (var k in from) if (Object.prototype.hasOwnProperty.call(from, k)) into[k] = from[k];
    return into;
  }
  var apiKey = option('apiKey', 'api-key') || '';
  var noTracking = option('noTracking', 'no-tracking') === 'true';
  var userSignature = option('userSignature', 'user-signature');
  var apiOrigin = src.origin;
  var frameUrl = new URL('frame.html', src);
  frameUrl.search = '';
  // The key goes in the frame's URL: the server then lets only the key's
  // tenant's allowed origins frame it (CSP frame-ancestors; for a secret
  // key when its tenant lists origins, as the Django system's whitelisted
  // domains), and the frame uses no key but this one.
  if (apiKey) frameUrl.searchParams.set('apiKey', apiKey);
  // The frame learns who its parent is from the fragment; it only ever posts
  // to that origin, so a page lying about it gets nothing.
  frameUrl.hash = 'host=' + encodeURIComponent(location.origin);
  var hostOrigin = location.origin;

  function store(kind) {
    try { return window[kind]; } catch (e) { return null; }
  }
  function get(kind, key) {
    var s = store(kind);
    try { return s ? s.getItem(key) : null; } catch (e) { return null; }
  }
  function set(kind, key, value) {
    var s = store(kind);
    try {
      if (!s) return;
      if (value == null) s.removeItem(key); else s.setItem(key, value);
    } catch (e) { /* storage full or blocked: the widget still works */ }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  // A short, stable name for this key's saved session (the key itself is not
  // written into storage).
  function hash(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(16);
  }

  // User tracking, as the reference: explicit identifier, else a UUID kept in
  // localStorage as chatbot_user_id, else (noTracking) none at all.
  var userId = noTracking ? null : option('userIdentifier', 'user-identifier');
  if (!userId && !noTracking) {
    userId = get('localStorage', USER_KEY);
    if (!userId) { userId = uuid(); set('localStorage', USER_KEY, userId); }
  }
  // Without tracking the conversation survives reloads in this tab only.
  var sessionStore = noTracking ? 'sessionStorage' : 'localStorage';
  var sessionKey = 'chatbot_session_' + hash(apiKey);
  var openKey = 'chatbot_open_' + hash(apiKey);

  function savedSession() {
    try {
      var s = JSON.parse(get(sessionStore, sessionKey) || 'null');
      return s && s.sessionId && (s.userId || null) === userId ? s.sessionId : null;
    } catch (e) { return null; }
  }

  function pageData() {
    var text = '';
    try { text = (document.body && document.body.innerText || '').replace(/\s+/g, ' ').trim().slice(0, 1000); } catch (e) { /* ignore */ }
    return {
      url: location.href,
      title: document.title,
      pageContent: text,
      hostname: location.hostname,
      language: document.documentElement.lang || navigator.language || ''
    };
  }
  var pageContext = copy({ url: location.href, title: document.title }, isObject(given.pageContext) ? given.pageContext : {});
  var BRAND = ['botName', 'botColor', 'botMsgBgColor', 'poweredBy', 'botIcon', 'position', 'theme',
    'language', 'welcomeMessage', 'starterPrompts'];
  function pick(from, keys) {
    var out = {};
    keys.forEach(function (k) { if (isObject(from) && from[k] !== undefined) out[k] = from[k]; });
    return out;
  }

  // Events for the host page: posted to this window, readable only by the
  // page's own origin.
  function emit(type, data) {
    var msg = { type: type, source: SOURCE, version: VERSION };
    for (var k in data) if (Object.prototype.hasOwnProperty.call(data, k)) msg[k] = data[k];
    if (hostOrigin && hostOrigin !== 'null') window.postMessage(msg, hostOrigin);
  }

  // --- DOM, inside a shadow root -------------------------------------------
  var host = document.createElement('div');
  host.id = 'chatbot-widget';
  host.style.setProperty('all', 'initial', 'important');
  host.style.setProperty('display', 'block', 'important');
  var root = host.attachShadow({ mode: 'open' });
  // Styles through the CSS object model (a constructed sheet), not a
  // <style> element: a host page whose Content-Security-Policy forbids
  // inline styles still gets a styled widget.
  var css =
    ':host{all:initial}' +
    '*{box-sizing:border-box}' +
    '.l{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;border:0;' +
    'background:var(--c,#667eea);color:var(--ci,#fff);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;' +
    'align-items:center;justify-content:center;padding:0;margin:0}' +
    // A dark ring over a white one: visible on light and dark pages alike.
    '.l:focus-visible{outline:3px solid #111;outline-offset:3px;box-shadow:0 0 0 3px #fff,0 4px 14px rgba(0,0,0,.25)}' +
    '.l svg{width:28px;height:28px;fill:currentColor}' +
    '.p{position:fixed;right:20px;bottom:92px;z-index:2147483001;width:380px;height:600px;max-height:calc(100vh - 112px);' +
    'border:0;border-radius:14px;box-shadow:0 8px 32px rgba(0,0,0,.25);background:#fff;display:none;margin:0;padding:0}' +
    '.open .p{display:block}' +
    '.left .l,.left .p{right:auto;left:20px}.dark .p{background:#1b1e26}' +
    '@media (max-width:480px){.open .p{right:0;bottom:0;left:0;top:0;width:100%;height:100%;max-height:none;border-radius:0}' +
    '.open .l{display:none}}';
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    var style = document.createElement('style'); // older browsers
    style.textContent = css;
    root.appendChild(style);
  }
  var wrap = document.createElement('div');
  wrap.className = 'w';
  wrap.innerHTML = '<button class="l" type="button" aria-haspopup="dialog" aria-expanded="false" aria-label="Open chat">' +
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z"/></svg>' +
    '</button>';
  root.appendChild(wrap);
  var launcher = root.querySelector('.l');
  var frame = document.createElement('iframe');
  frame.className = 'p';
  frame.title = 'Chat';
  var labels = { open: 'Open chat', close: 'Close chat' };
  frame.setAttribute('allow', 'clipboard-write');
  frame.src = frameUrl.href;
  wrap.appendChild(frame);
  // A frame the browser refused (a key that does not verify, or a site
  // outside the tenant's allowed origins) never says hello: say so to the
  // page and its developer instead of failing silently.
  var heard = false;
  frame.addEventListener('load', function () {
    setTimeout(function () {
      if (heard) return;
      emit('widget_error', { action: 'load', status: null, error: 'The chat could not load', detail: null, userId: userId });
      if (window.console) console.warn('Chat widget: the chat could not load here. Check the API key and the tenant\'s allowed origins.');
    }, 3000);
  });

  var isOpen = false;
  var frameReady = false;
  var queue = [];
  var side = 'right', dark = false;

  // The panel's classes and the launcher's name, from the state and the
  // frame's latest look (position, theme, words in the visitor's language).
  function look() {
    wrap.className = 'w' + (isOpen ? ' open' : '') + (side === 'left' ? ' left' : '') + (dark ? ' dark' : '');
    launcher.setAttribute('aria-label', isOpen ? labels.close : labels.open);
  }

  function toFrame(type, data) {
    var msg = { ns: TO_FRAME, type: type };
    for (var k in data) if (Object.prototype.hasOwnProperty.call(data, k)) msg[k] = data[k];
    if (!frameReady && type !== 'init') { queue.push(msg); return; }
    frame.contentWindow.postMessage(msg, apiOrigin);
  }

  // Where the open chat covers the whole window of the page (the narrow
  // layout below), the focus goes into it whatever was asked: left behind,
  // it would sit on the hidden page (WCAG 2.4.11). A page inside a frame
  // (the console's preview) is not the visitor's whole window.
  var narrow = window.matchMedia ? window.matchMedia('(max-width:480px)') : null;
  function covers() { return !!narrow && narrow.matches && window.top === window; }

  // Opens the chat; `focus` false leaves the page's focus where it is (a
  // chat restored open on the next page, or opened by a script), unless
  // the chat covers the page.
  function open(focus) {
    focus = focus !== false || covers();
    if (isOpen) {
      if (focus) { frame.focus(); toFrame('focus', {}); }
      return;
    }
    isOpen = true;
    look();
    launcher.setAttribute('aria-expanded', 'true');
    set('sessionStorage', openKey, '1');
    if (focus) frame.focus();
    toFrame('open', { focus: focus });
    emit('widget_opened', { userId: userId });
  }
  function close() {
    if (!isOpen) return;
    isOpen = false;
    look();
    launcher.setAttribute('aria-expanded', 'false');
    set('sessionStorage', openKey, null);
    // Focus returns to the launcher when it was in the chat; a page that
    // minimizes the chat from elsewhere keeps its own focus.
    if (document.activeElement === host) launcher.focus();
    emit('widget_minimized', { userId: userId });
  }
  launcher.addEventListener('click', function () { if (isOpen) close(); else open(); });
  wrap.addEventListener('keydown', function (e) { if (e.key === 'Escape' && isOpen) close(); });

  var commands = {
    open: function (options) { open(!(isObject(options) && options.focus === false)); },
    close: close,
    newConversation: function () {
      set(sessionStore, sessionKey, null);
      toFrame('new_conversation', {});
    },
    setUser: function (id) {
      id = id == null || id === '' ? null : String(id);
      if (id === userId) return;
      userId = id;
      set(sessionStore, sessionKey, null);
      toFrame('set_user', { userId: userId });
    },
    updatePageContext: function (ctx) {
      if (!isObject(ctx)) return;
      copy(pageContext, ctx);
      toFrame('page_context', { pageContext: pageContext });
    },
    // The Django system's commands.
    configure: function (options) {
      if (!isObject(options)) return;
      if (isObject(options.pageContext)) copy(pageContext, options.pageContext);
      toFrame('configure', { options: options });
    },
    set_brand_settings: function (settings) {
      if (isObject(settings)) toFrame('brand', { settings: pick(settings, BRAND) });
    },
    page_data: function (data) {
      if (isObject(data)) toFrame('page_data', { pageData: data });
    },
    send_message: function (text) {
      if (isObject(text)) text = text.message;
      if (typeof text !== 'string' || !text.trim()) return;
      open();
      toFrame('send', { text: text });
    },
    clear_chat: function () { toFrame('clear', {}); },
    minimize: function () { close(); },
    maximize: function () { open(true); }
  };
  var DJANGO = ['configure', 'set_brand_settings', 'page_data', 'send_message', 'clear_chat', 'minimize', 'maximize'];

  window.addEventListener('message', function (e) {
    var d = e.data;
    if (!d || typeof d !== 'object') return;
    // From our frame: right origin and the right window, nothing else.
    if (d.ns === FROM_FRAME) {
      if (e.origin !== apiOrigin || e.source !== frame.contentWindow) return;
      switch (d.type) {
        case 'hello':
          heard = true;
          frameReady = false;
          toFrame('init', {
            apiKey: apiKey, userId: userId, userSignature: userId ? userSignature : null,
            sessionId: savedSession(), pageContext: pageContext,
            pageData: copy(pageData(), isObject(given.pageData) ? given.pageData : {}),
            config: pick(given, ['jsonData', 'customInstructions', 'brandGuidelines', 'tone']),
            brand: pick(given, BRAND), open: isOpen
          });
          frameReady = true;
          while (queue.length) frame.contentWindow.postMessage(queue.shift(), apiOrigin);
          break;
        case 'look':
          // The header's colours, readable together (widget/colour.js).
          if (typeof d.color === 'string') launcher.style.setProperty('--c', d.color);
          if (typeof d.ink === 'string') launcher.style.setProperty('--ci', d.ink);
          side = d.position === 'left' ? 'left' : 'right';
          dark = d.dark === true;
          if (isObject(d.labels)) {
            labels.open = String(d.labels.open || labels.open);
            labels.close = String(d.labels.close || labels.close);
            frame.title = String(d.labels.chat || frame.title);
          }
          look();
          break;
        case 'ready':
          emit('widget_ready', { userId: userId });
          // Open on this page as it was on the last; the page keeps its focus.
          if (get('sessionStorage', openKey)) open(false);
          break;
        case 'session':
          set(sessionStore, sessionKey, JSON.stringify({ sessionId: d.sessionId, userId: userId }));
          emit(d.created ? 'session_created' : 'session_restored', { sessionId: d.sessionId, userId: userId });
          break;
        case 'message':
          emit('message_received', { message: String(d.message), sessionId: d.sessionId, messageId: d.messageId || null, userId: userId });
          break;
        case 'feedback':
          emit('feedback_submitted', { sessionId: d.sessionId, messageId: d.messageId, rating: d.rating, userId: userId });
          break;
        case 'cleared':
          emit('chat_cleared', { sessionId: d.sessionId || null, userId: userId });
          break;
        case 'error':
          emit('widget_error', { action: d.action, status: d.status, error: d.error, detail: d.detail, userId: userId });
          break;
        case 'close':
          close();
          break;
      }
      return;
    }
    if (e.source !== window || e.origin !== hostOrigin) return;
    // Commands from the host page itself: {target: 'chatbot-widget', command, args},
    // or the Django system's {type: 'set_brand_settings', data: {...}}.
    if (d.target === SOURCE && Object.prototype.hasOwnProperty.call(commands, d.command)) {
      commands[d.command].apply(null, Array.isArray(d.args) ? d.args : []);
    } else if (d.source !== SOURCE && DJANGO.indexOf(d.type) >= 0) {
      var arg = [d.data, d.payload, d.settings, d.config, d.message].filter(function (v) { return v !== undefined; })[0];
      commands[d.type](arg);
    }
  });

  function mount() { (document.body || document.documentElement).appendChild(host); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);

  // Every command under its own name, and the Django ones also in camelCase
  // (ChatbotWidget.setBrandSettings as well as .set_brand_settings).
  var api = { version: VERSION };
  Object.keys(commands).forEach(function (name) {
    api[name] = commands[name];
    api[name.replace(/_(\w)/g, function (m, c) { return c.toUpperCase(); })] = commands[name];
  });
  window.ChatbotWidget = api;
})();
