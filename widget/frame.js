/*
 * The chat UI inside the widget's iframe. It talks to the API on its own
 * origin and to the loader (chatbot.js) in the host page through
 * postMessage, checking the origin and the window of every message.
 * Markdown is rendered by frame-markdown.js, the words come from
 * frame-i18n.js.
 */
(function () {
  'use strict';
  var FROM_LOADER = 'chatbot-widget-loader';
  var TO_LOADER = 'chatbot-widget-frame';
  var API = location.origin + '/api/chat/';
  var MAX_CHARS = 10000;
  var COUNTER_FROM = 9000; // the counter shows from here on
  // What a publishable key may change on an existing session's config.
  var PAGE_KEYS = ['pageContext', 'pageData', 'jsonData'];
  // The host page's instructions for the assistant (window.ChatbotConfig).
  var INSTRUCTION_KEYS = ['customInstructions', 'brandGuidelines', 'tone'];

  var hostOrigin = (function () {
    var m = /(?:^|&)host=([^&]*)/.exec(location.hash.slice(1));
    if (!m) return null;
    try {
      var h = decodeURIComponent(m[1]);
      return new URL(h).origin === h ? h : null;
    } catch (e) { return null; }
  })();

  var $ = function (id) { return document.getElementById(id); };
  var log = $('log'), input = $('input'), form = $('compose'), sendButton = $('send');
  var typingEl = $('typing'), live = $('live'), fileInput = $('file'), counter = $('counter');
  var confirmDialog = $('confirm');

  var apiKey = '', userId = null, userSignature = null, savedId = null, sessionId = null;
  var pageContext = {}, pageData = {};
  var given = {}; // jsonData and the instruction keys, as the host page gave them
  var extras = {}; // the same as sent when a session is created
  var sendConfig = null; // instruction keys changed after the session was created
  var serverBrand = {}, hostBrand = {};
  var brand = {}; // serverBrand with hostBrand over it
  var strings = window.ChatbotStrings.en, lang = 'en';
  var botName = 'Assistant';
  var streamAvailable = true;
  var pendingSession = null;
  var busy = 0;
  var readySent = false;
  var counterBand = 0;

  // --- loader link ---------------------------------------------------------
  function post(type, data) {
    if (!hostOrigin || window.parent === window) return;
    var msg = { ns: TO_LOADER, type: type };
    for (var k in data) if (Object.prototype.hasOwnProperty.call(data, k)) msg[k] = data[k];
    window.parent.postMessage(msg, hostOrigin);
  }

  var handlers = {
    init: function (d) {
      apiKey = String(d.apiKey || '');
      // The page was framed under the CSP of the key in its URL; any other
      // key would slip past its tenant's allowed origins.
      if (apiKey && apiKey !== new URLSearchParams(location.search).get('apiKey')) {
        apiKey = '';
        showError(null, null, t('notSetUp'));
        return;
      }
      userId = d.userId || null;
      userSignature = typeof d.userSignature === 'string' && d.userSignature ? d.userSignature : null;
      savedId = d.sessionId || null;
      pageContext = isObject(d.pageContext) ? d.pageContext : {};
      pageData = isObject(d.pageData) ? d.pageData : {};
      given = {};
      if (isObject(d.config)) ['jsonData'].concat(INSTRUCTION_KEYS).forEach(function (k) { if (k in d.config) given[k] = d.config[k]; });
      extras = sessionExtras(given);
      hostBrand = isObject(d.brand) ? d.brand : {};
      applyBrand();
      loadBotConfig();
    },
    open: function (d) { if (d.focus !== false) focusInput(); startSession(); },
    focus: focusInput,
    new_conversation: function () { reset(); startSession(); },
    set_user: function (d) { userId = d.userId || null; reset(); },
    page_context: function (d) {
      if (isObject(d.pageContext)) pageContext = d.pageContext;
      updateSessionConfig({ pageContext: pageContext }, 'page_context');
    },
    page_data: function (d) {
      if (!isObject(d.pageData)) return;
      merge(pageData, d.pageData);
      updateSessionConfig({ pageData: pageData }, 'page_data');
    },
    configure: function (d) { configure(d.options); },
    brand: function (d) {
      if (!isObject(d.settings)) return;
      merge(hostBrand, d.settings);
      applyBrand();
    },
    send: function (d) {
      var text = typeof d.text === 'string' ? d.text : '';
      if (text.length > MAX_CHARS) {
        post('error', { action: 'send_message', status: null, error: 'Message too long', detail: 'at most ' + MAX_CHARS + ' characters' });
      } else if (text.trim()) {
        send(text);
      }
    },
    clear: function () { clearConversation(); }
  };

  window.addEventListener('message', function (e) {
    var d = e.data;
    if (e.source !== window.parent || e.origin !== hostOrigin || !d || d.ns !== FROM_LOADER) return;
    if (Object.prototype.hasOwnProperty.call(handlers, d.type)) handlers[d.type](d);
  });

  function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function merge(into, from) {
    for (var k in from) if (Object.prototype.hasOwnProperty.call(from, k)) into[k] = from[k];
    return into;
  }
  function focusInput() { input.focus(); }
  function t(key, values) {
    var s = strings[key] || window.ChatbotStrings.en[key] || key;
    return s.replace(/\{(\w+)\}/g, function (m, name) { return values && name in values ? values[name] : m; });
  }

  // --- the host page's session settings (window.ChatbotConfig, configure) ---
  // jsonData and the instructions go with the session when it is created.
  // Brand guidelines and tone reach the assistant inside customInstructions
  // (the one instruction key the context builder reads) and are also kept
  // under their own names for the tenant's records.
  function sessionExtras(config) {
    var out = {};
    if (!isObject(config)) return out;
    if ('jsonData' in config) out.jsonData = config.jsonData;
    INSTRUCTION_KEYS.forEach(function (k) {
      if (typeof config[k] === 'string' && config[k].trim()) out[k] = config[k];
    });
    var instructions = [out.customInstructions];
    if (out.brandGuidelines) instructions.push('Brand guidelines: ' + out.brandGuidelines);
    if (out.tone) instructions.push('Tone: ' + out.tone);
    instructions = instructions.filter(Boolean).join('\n\n');
    if (instructions) out.customInstructions = instructions;
    return out;
  }

  function configure(options) {
    if (!isObject(options)) return;
    if (isObject(options.pageContext)) merge(pageContext, options.pageContext);
    if (isObject(options.pageData)) merge(pageData, options.pageData);
    ['jsonData'].concat(INSTRUCTION_KEYS).forEach(function (k) { if (k in options) given[k] = options[k]; });
    var changed = INSTRUCTION_KEYS.some(function (k) { return k in options; });
    extras = sessionExtras(given);
    var brandKeys = Object.keys(options).filter(function (k) { return BRAND_KEYS.indexOf(k) >= 0; });
    if (brandKeys.length) {
      brandKeys.forEach(function (k) { hostBrand[k] = options[k]; });
      applyBrand();
    }
    if (!sessionId) return;
    var update = {};
    if ('pageContext' in options) update.pageContext = pageContext;
    if ('pageData' in options) update.pageData = pageData;
    if ('jsonData' in options) update.jsonData = extras.jsonData;
    if (Object.keys(update).length) updateSessionConfig(update, 'configure');
    // A publishable key may not write instructions into the session's
    // config; they travel with the next messages instead (`config` on
    // /messages/send, merged into the session's config by the server).
    if (changed) {
      sendConfig = {};
      INSTRUCTION_KEYS.forEach(function (k) { if (k in extras) sendConfig[k] = extras[k]; });
    }
  }

  // Only the page keys, which a publishable key may write on its own
  // sessions; a refusal is shown and reported to the page, never dropped.
  function updateSessionConfig(update, action) {
    if (!sessionId) return Promise.resolve(); // the session is created with them
    var config = {};
    PAGE_KEYS.forEach(function (k) { if (k in update) config[k] = update[k]; });
    var id = sessionId;
    return call('PUT', 'sessions/' + id + '/config', { config: config }).then(function (r) {
      if (r.ok || id !== sessionId) return;
      post('error', { action: action, status: r.status, error: r.data.error || null, detail: r.data.detail || null });
      showError(failure(r), function () { return updateSessionConfig(update, action); }, t('contextFailed'));
    });
  }

  // --- API -----------------------------------------------------------------
  function headers(json) {
    var h = { 'X-API-Key': apiKey };
    if (userSignature) h['X-User-Signature'] = userSignature;
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }
  function readJson(r) {
    return r.text().then(function (text) {
      var data = null;
      try { data = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
      return { status: r.status, ok: r.ok, data: data && typeof data === 'object' ? data : {} };
    });
  }
  function call(method, path, body) {
    var init = { method: method, headers: headers(body !== undefined && !(body instanceof FormData)) };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) init.body = JSON.stringify(body);
    return fetch(API + path, init).then(readJson, function () { return { status: 0, ok: false, data: {} }; });
  }
  function failure(r) {
    var err = new Error('request failed');
    err.response = r;
    return err;
  }

  function loadBotConfig() {
    call('GET', 'sessions/bot-config').then(function (r) {
      if (!r.ok) { showError(failure(r), loadBotConfig); ready(); return; }
      serverBrand = r.data;
      applyBrand();
      ready();
    });
  }
  // The loader hears `ready` once.
  function ready() {
    if (readySent) return;
    post('ready', { first: true });
    readySent = true;
  }

  // --- appearance: bot-config, then the host page's brand settings -------
  var DEFAULT_COLOR = '#667eea'; // the reference's default botColor
  var BRAND_KEYS = ['botName', 'botColor', 'botMsgBgColor', 'poweredBy', 'botIcon', 'position',
    'theme', 'language', 'welcomeMessage', 'starterPrompts'];
  var darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

  function applyBrand() {
    brand = {};
    BRAND_KEYS.forEach(function (k) {
      if (hostBrand[k] !== undefined) brand[k] = hostBrand[k];
      else if (serverBrand[k] !== undefined) brand[k] = serverBrand[k];
    });
    applyLanguage(brand.language);
    botName = typeof brand.botName === 'string' && brand.botName ? brand.botName : 'Assistant';
    $('bot-name').textContent = botName;
    document.title = botName;
    $('powered-by').textContent = brand.poweredBy ? t('poweredBy', { name: brand.poweredBy }) : '';
    var color = validColor(brand.botColor) || DEFAULT_COLOR, bubble = validColor(brand.botMsgBgColor) || color;
    launcherLook = setSurface('--bot', '--on-bot', color);
    setSurface('--bot-msg', '--on-bot-msg', bubble);
    setInk(color);
    applyIcon();
    var theme = brand.theme === 'dark' || brand.theme === 'auto' ? brand.theme : 'light';
    document.documentElement.setAttribute('data-theme', theme);
    renderIntro();
    postLook();
  }

  // The launcher in the page wears the header's colours.
  var launcherLook = null;
  function postLook() {
    var theme = document.documentElement.getAttribute('data-theme');
    post('look', {
      color: launcherLook && launcherLook.background,
      ink: launcherLook && launcherLook.text,
      position: brand.position === 'left' ? 'left' : 'right',
      dark: theme === 'dark' || (theme === 'auto' && !!darkQuery && darkQuery.matches),
      labels: { open: t('openChat'), close: t('closeChat'), chat: t('chat') }
    });
  }
  if (darkQuery && darkQuery.addEventListener) {
    darkQuery.addEventListener('change', postLook);
  }

  function applyIcon() {
    var icon = $('bot-icon');
    icon.textContent = '';
    var src = brand.botIcon;
    if (typeof src === 'string' && /^(https?:\/\/|\/|data:image\/(png|gif|jpeg|webp);)/i.test(src)) {
      var img = document.createElement('img');
      img.alt = '';
      img.src = src;
      icon.appendChild(img);
    } else {
      icon.textContent = typeof src === 'string' && src ? Array.from(src).slice(0, 2).join('') : botName.charAt(0).toUpperCase();
    }
  }

  function validColor(c) {
    return typeof c === 'string' && window.CSS && CSS.supports('color', c) ? c : null;
  }

  // Brand colours through widget/colour.js, so any colour a tenant picks
  // stays readable (WCAG AA): a surface gets white or near-black text (and
  // is darkened where white needs it); the brand colour as text or focus
  // ring gets a shade that reads on the light and on the dark background.
  var Colour = window.ChatbotColour;
  var LIGHT_BG = [255, 255, 255], DARK_BG = [27, 30, 38]; // --bg of frame.css's two themes
  function setSurface(name, onName, color) {
    var s = Colour.surface(toRgb(color) || toRgb(DEFAULT_COLOR));
    var root = document.documentElement.style;
    root.setProperty(name, s.background);
    root.setProperty(onName, s.text);
    return s;
  }
  function setInk(color) {
    var rgb = toRgb(color) || toRgb(DEFAULT_COLOR);
    var root = document.documentElement.style;
    root.setProperty('--bot-ink-light', Colour.readableOn(rgb, LIGHT_BG));
    root.setProperty('--bot-ink-dark', Colour.readableOn(rgb, DARK_BG));
  }
  // Any CSS colour (hex, rgb(), a name) as [r, g, b], through the browser.
  function toRgb(color) {
    var probe = document.createElement('span');
    probe.style.color = color;
    document.body.appendChild(probe);
    var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(probe).color);
    probe.remove();
    return m ? [+m[1], +m[2], +m[3]] : null;
  }

  // The tenant's (or host page's) language, else the browser's; English
  // where neither has words here.
  function applyLanguage(preferred) {
    var wanted = [preferred].concat(navigator.languages || [navigator.language]);
    lang = 'en';
    for (var i = 0; i < wanted.length; i++) {
      var code = typeof wanted[i] === 'string' ? wanted[i].toLowerCase().split(/[-_]/)[0] : '';
      if (code && window.ChatbotStrings[code]) { lang = code; break; }
    }
    strings = window.ChatbotStrings[lang];
    document.documentElement.lang = lang;
    label($('clear'), 'clear'); label($('attach'), 'attach'); label($('send'), 'send');
    var close = $('close');
    close.setAttribute('aria-label', t('closeChat'));
    close.title = t('closeTitle');
    $('input-label').textContent = t('message');
    input.placeholder = t('placeholder');
    log.setAttribute('aria-label', t('conversation'));
    $('typing-text').textContent = t('typing');
    $('confirm-text').textContent = t('clearConfirm');
    $('confirm-yes').textContent = t('clearYes');
    $('confirm-no').textContent = t('cancel');
    Array.prototype.forEach.call(log.querySelectorAll('.msg.assistant'), labelActions);
    updateCounter(false);
  }
  function label(el, key) {
    el.setAttribute('aria-label', t(key));
    el.title = t(key);
  }

  // --- welcome message and starter prompts --------------------------------
  function renderIntro() {
    var old = log.querySelector('.intro');
    if (old) old.remove();
    var welcome = typeof brand.welcomeMessage === 'string' ? brand.welcomeMessage.trim() : '';
    var prompts = Array.isArray(brand.starterPrompts)
      ? brand.starterPrompts.filter(function (p) { return typeof p === 'string' && p.trim(); }).slice(0, 6) : [];
    var started = !!log.querySelector('.msg.user');
    if (!welcome && (started || !prompts.length)) return;
    var intro = document.createElement('div');
    intro.className = 'intro';
    if (welcome) {
      var bubble = document.createElement('div');
      bubble.className = 'msg assistant welcome';
      var body = document.createElement('div');
      body.className = 'body';
      window.ChatbotMarkdown.render(welcome, body, { table: t('table') });
      bubble.appendChild(body);
      intro.appendChild(bubble);
    }
    if (!started && prompts.length) {
      var group = document.createElement('div');
      group.className = 'starters';
      group.setAttribute('role', 'group');
      group.setAttribute('aria-label', t('suggestions'));
      prompts.forEach(function (p) {
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = p;
        b.addEventListener('click', function () { send(p); focusInput(); });
        group.appendChild(b);
      });
      intro.appendChild(group);
    }
    log.insertBefore(intro, log.firstChild);
  }
  function dropStarters() {
    var s = log.querySelector('.starters');
    if (s) s.remove();
  }

  // --- sessions ------------------------------------------------------------
  function createSession() {
    var config = merge({ pageContext: pageContext, pageData: pageData }, extras);
    var body = { config: config };
    if (userId) body.user_identifier = userId;
    if (userId && userSignature) body.userSignature = userSignature;
    return call('POST', 'sessions/create', body).then(function (r) {
      if (r.status !== 201) throw failure(r);
      sessionId = r.data.sessionId;
      savedId = null;
      sendConfig = null;
      post('session', { sessionId: sessionId, created: true });
      return sessionId;
    });
  }

  function restore(id) {
    // The newest 100 messages are plenty to pick a conversation up again.
    return call('GET', 'messages/history/' + encodeURIComponent(id) + '?limit=100').then(function (r) {
      if (r.status === 404 || r.status === 400) return createSession();
      if (!r.ok) throw failure(r);
      sessionId = id;
      clearLog();
      (r.data.messages || []).forEach(function (m) {
        if (m.role === 'user') addMessage('user', m.content).classList.toggle('failed', m.status === 'failed');
        else if (m.role === 'assistant') showSources(addMessage('assistant', m.content, m.messageId, ratingOf(m) || remembered(m.messageId)), m.sources);
      });
      renderIntro();
      post('session', { sessionId: id, created: false });
      return id;
    });
  }
  // History does not say how the visitor rated a reply, so this tab
  // remembers it (the frame's own storage, partitioned by the host site).
  function remember(messageId, rating) {
    try { sessionStorage.setItem('chatbot_rating_' + messageId, rating); } catch (e) { /* storage blocked */ }
  }
  function remembered(messageId) {
    try { return messageId ? sessionStorage.getItem('chatbot_rating_' + messageId) : null; } catch (e) { return null; }
  }
  function ratingOf(m) {
    var f = m.feedback;
    var rating = isObject(f) ? f.rating : typeof f === 'string' ? f : m.rating;
    return rating === 'up' || rating === 'down' ? rating : null;
  }

  function ensureSession() {
    if (sessionId) return Promise.resolve(sessionId);
    if (!pendingSession) {
      var id = savedId;
      savedId = null;
      pendingSession = (id ? restore(id) : createSession()).then(function (s) {
        pendingSession = null;
        return s;
      }, function (err) {
        pendingSession = null;
        throw err;
      });
    }
    return pendingSession;
  }

  // The current session, or a new one, with an error and Retry on failure.
  function startSession() {
    ensureSession().catch(function (err) { showError(err, startSession); });
  }

  function clearLog() {
    log.textContent = '';
  }
  function reset() {
    sessionId = null;
    savedId = null;
    sendConfig = null;
    clearLog();
    renderIntro();
  }

  // --- clearing the conversation ------------------------------------------
  // A secret key (the Django system's embeds) deletes the session's
  // messages on the server, as that widget did; a publishable key may not,
  // so the visitor gets a fresh session and the old one stays in the
  // tenant's records until its retention ends.
  function clearConversation() {
    var id = sessionId;
    var done = function () {
      reset();
      live.textContent = t('cleared');
      post('cleared', { sessionId: id });
      return ensureSession();
    };
    if (!id || apiKey.indexOf('pk_') === 0) return done().catch(function (err) { showError(err, startSession); });
    return call('DELETE', 'messages/clear/' + encodeURIComponent(id)).then(function (r) {
      if (!r.ok && r.status !== 404 && r.status !== 403) throw failure(r);
      if (r.ok) {
        clearLog();
        renderIntro();
        live.textContent = t('cleared');
        post('cleared', { sessionId: id });
        return id;
      }
      return done();
    }).catch(function (err) { showError(err, clearConversation); });
  }

  $('clear').addEventListener('click', function () {
    if (typeof confirmDialog.showModal === 'function') confirmDialog.showModal();
    else if (window.confirm(t('clearConfirm'))) clearConversation();
    $('confirm-no').focus();
  });
  $('confirm-no').addEventListener('click', function () { confirmDialog.close(); });
  $('confirm-yes').addEventListener('click', function () {
    confirmDialog.close('yes');
    clearConversation();
    focusInput();
  });
  confirmDialog.addEventListener('close', function () {
    if (confirmDialog.returnValue !== 'yes') $('clear').focus();
    confirmDialog.returnValue = '';
  });

  // --- sending -------------------------------------------------------------
  function gone(r) {
    return r.status === 410 || (r.status === 404 && r.data.error === 'Session not found');
  }

  // One exchange: the streaming endpoint when the server has it, else
  // /messages/send. Resolves to {status, ok, data} where data is /send's body.
  function exchange(text, view) {
    var payload = { sessionId: sessionId, message: text };
    if (sendConfig) payload.config = sendConfig;
    var body = JSON.stringify(payload);
    if (!streamAvailable) return call('POST', 'messages/send', payload);
    var h = headers(true);
    h.Accept = 'text/event-stream';
    return fetch(API + 'messages/stream', { method: 'POST', headers: h, body: body }).then(function (r) {
      var type = r.headers.get('Content-Type') || '';
      if (r.ok && type.indexOf('text/event-stream') === 0) return readStream(r, view);
      return readJson(r).then(function (j) {
        if (r.status === 405 || (r.status === 404 && j.data.error !== 'Session not found')) {
          streamAvailable = false; // no such endpoint here: plain send from now on
          return call('POST', 'messages/send', payload);
        }
        return j;
      });
    }, function () { return { status: 0, ok: false, data: {} }; });
  }

  function readStream(r, view) {
    var reader = r.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '', text = '', result = null;
    function handle(block) {
      var event = 'message', data = [];
      block.split('\n').forEach(function (line) {
        if (line.indexOf('event:') === 0) event = line.slice(6).trim();
        else if (line.indexOf('data:') === 0) data.push(line.slice(5).replace(/^ /, ''));
      });
      var payload = {};
      try { payload = JSON.parse(data.join('\n') || '{}'); } catch (e) { return; }
      if (event === 'delta' && typeof payload.text === 'string') {
        text += payload.text;
        view.update(text);
      } else if (event === 'done') {
        result = { status: 200, ok: true, data: payload };
      } else if (event === 'error') {
        result = { status: payload.status || 502, ok: false, data: payload };
      }
    }
    function pump() {
      return reader.read().then(function (chunk) {
        buffer += chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
        buffer = buffer.replace(/\r\n?/g, '\n');
        var at;
        while (!result && (at = buffer.indexOf('\n\n')) >= 0) {
          handle(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
        }
        if (result) { reader.cancel().catch(function () {}); return result; }
        if (chunk.done) {
          if (buffer.trim()) handle(buffer);
          return result || { status: 0, ok: false, data: { error: t('cutOff') } };
        }
        return pump();
      });
    }
    return pump().catch(function () { return { status: 0, ok: false, data: { error: t('cutOff') } }; });
  }

  // A reply bubble that fills in as deltas arrive (announced once, when done).
  function replyView() {
    var el = null;
    return {
      update: function (text) {
        typing(false);
        if (!el) el = addMessage('assistant', '');
        renderReply(el, text);
        scroll();
      },
      remove: function () { if (el) el.remove(); el = null; },
      element: function () { return el; }
    };
  }

  function send(text, bubble) {
    dropStarters();
    if (!bubble) bubble = addMessage('user', text);
    bubble.classList.remove('failed');
    setBusy(1);
    typing(true);
    var view = replyView();
    return ensureSession()
      .then(function () { return exchange(text, view); })
      .then(function (r) {
        if (!gone(r)) return r;
        // Expired or removed session: a new one, and the same message again.
        view.remove();
        note(r.status === 410 ? t('expired') : t('restarted'));
        sessionId = null;
        return createSession().then(function () { return exchange(text, view); });
      })
      .then(function (r) {
        if (!r.ok) throw failure(r);
        var reply = String(r.data.response || '');
        var messageId = typeof r.data.messageId === 'string' ? r.data.messageId : null;
        var el = view.element();
        if (el) finishReply(el, reply, messageId, null);
        else el = addMessage('assistant', reply, messageId);
        showSources(el, r.data.sources);
        live.textContent = botName + ': ' + reply;
        post('message', { message: reply, sessionId: sessionId, messageId: messageId });
      })
      .catch(function (err) {
        view.remove();
        bubble.classList.add('failed');
        showError(err, function () { return send(text, bubble); });
      })
      .then(function () {
        typing(false);
        setBusy(-1);
        scroll();
      });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = '';
    grow();
    updateCounter(false);
    send(text);
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event('submit', { cancelable: true }));
    }
  });
  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
  }
  input.addEventListener('input', function () { grow(); updateCounter(true); });

  // The count shows near the limit; crossing into the last thousand and
  // reaching the limit are announced once each, not every keystroke.
  function updateCounter(announce) {
    var n = input.value.length;
    counter.hidden = n < COUNTER_FROM;
    counter.classList.toggle('full', n >= MAX_CHARS);
    counter.textContent = t('counter', { count: n.toLocaleString(lang), max: MAX_CHARS.toLocaleString(lang) });
    var band = n >= MAX_CHARS ? 2 : n >= COUNTER_FROM ? 1 : 0;
    if (announce && band > counterBand) {
      live.textContent = band === 2 ? t('limit') : t('charsLeft', { count: (MAX_CHARS - n).toLocaleString(lang) });
    }
    counterBand = band;
  }

  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !confirmDialog.open) { e.preventDefault(); post('close', {}); }
  });
  $('close').addEventListener('click', function () { post('close', {}); });

  // --- files ---------------------------------------------------------------
  $('attach').addEventListener('click', function () { fileInput.click(); });
  fileInput.addEventListener('change', function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (file) upload(file);
  });

  function upload(file) {
    var progress = note(t('uploading', { name: file.name }));
    setBusy(1);
    function attempt() {
      var body = new FormData();
      body.append('sessionId', sessionId);
      body.append('file', file, file.name);
      return call('POST', 'files/upload', body);
    }
    return ensureSession()
      .then(attempt)
      .then(function (r) {
        if (!gone(r)) return r;
        sessionId = null;
        return createSession().then(attempt);
      })
      .then(function (r) {
        progress.remove();
        if (!r.ok) throw failure(r);
        var f = r.data.file || {};
        var el = note('', 'file');
        var title = document.createElement('strong');
        title.textContent = t('uploaded', { name: f.name || file.name });
        el.appendChild(title);
        el.appendChild(document.createTextNode('\n' + (f.summary || '')));
        live.textContent = title.textContent + '. ' + (f.summary || '');
      })
      .catch(function (err) {
        progress.remove();
        showError(err, function () { return upload(file); });
      })
      .then(function () { setBusy(-1); scroll(); });
  }

  // --- view ----------------------------------------------------------------
  function addMessage(role, text, messageId, rating) {
    var el = document.createElement('div');
    el.className = 'msg ' + role;
    if (role === 'assistant') finishReply(el, text, messageId, rating);
    else el.textContent = text;
    log.appendChild(el);
    scroll();
    return el;
  }
  function renderReply(el, text) {
    var body = el.querySelector('.body');
    if (!body) {
      body = document.createElement('div');
      body.className = 'body';
      el.insertBefore(body, el.firstChild);
    }
    window.ChatbotMarkdown.render(text, body, { table: t('table') });
  }
  // The reply's text, then its copy button and (with a message id to rate)
  // its thumbs.
  function finishReply(el, text, messageId, rating) {
    renderReply(el, text);
    el.raw = text;
    var old = el.querySelector('.actions');
    if (old) old.remove();
    if (!text) return;
    var actions = document.createElement('div');
    actions.className = 'actions';
    actions.appendChild(actionButton('copy', COPY_ICON, function (b) { copyReply(el, b); }));
    if (messageId) {
      el.messageId = messageId;
      actions.appendChild(actionButton('up', THUMB_UP, function () { rate(el, 'up'); }));
      actions.appendChild(actionButton('down', THUMB_DOWN, function () { rate(el, 'down'); }));
    }
    el.appendChild(actions);
    labelActions(el);
    showRating(el, rating || null);
  }
  // The knowledge-base documents a reply drew on, as links under it (a
  // source without an http(s) URL is its title alone).
  function showSources(el, sources) {
    var old = el.querySelector('.sources');
    if (old) old.remove();
    if (!Array.isArray(sources) || !sources.length) return;
    var box = document.createElement('div');
    box.className = 'sources';
    var label = document.createElement('span');
    label.className = 'label';
    label.textContent = t('sources');
    box.appendChild(label);
    var list = document.createElement('ul');
    sources.forEach(function (s) {
      if (!s || typeof s.title !== 'string') return;
      var item = document.createElement('li');
      if (typeof s.url === 'string' && /^https?:\/\//i.test(s.url)) {
        var a = document.createElement('a');
        a.href = s.url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        a.textContent = s.title;
        item.appendChild(a);
      } else {
        item.textContent = s.title;
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    var actions = el.querySelector('.actions');
    el.insertBefore(box, actions);
  }
  var COPY_ICON = 'M8 3h10a2 2 0 0 1 2 2v12h-2V5H8zM5 7h10a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2zm0 2v11h10V9z';
  var CHECK_ICON = 'M9.5 16.2 5.3 12l-1.4 1.4 5.6 5.6L20.1 8.4 18.7 7z';
  var THUMB_UP = 'M2 10h4v11H2zm6 11h9.2a2 2 0 0 0 1.9-1.4l2.3-7A2 2 0 0 0 19.5 10H14l.9-4.4a1.6 1.6 0 0 0-2.9-1.2L8 10z';
  var THUMB_DOWN = 'M22 14h-4V3h4zm-6-11H6.8a2 2 0 0 0-1.9 1.4l-2.3 7A2 2 0 0 0 4.5 14H10l-.9 4.4a1.6 1.6 0 0 0 2.9 1.2L16 14z';
  function svg(path) {
    var ns = 'http://www.w3.org/2000/svg';
    var s = document.createElementNS(ns, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', path);
    s.appendChild(p);
    return s;
  }
  function actionButton(kind, icon, onClick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'act ' + kind;
    b.appendChild(svg(icon));
    b.addEventListener('click', function () { onClick(b); });
    return b;
  }
  function labelActions(el) {
    var labels = { copy: 'copy', up: 'helpful', down: 'notHelpful' };
    Array.prototype.forEach.call(el.querySelectorAll('.act'), function (b) {
      var kind = b.classList.contains('copy') ? 'copy' : b.classList.contains('up') ? 'up' : 'down';
      b.setAttribute('aria-label', t(labels[kind]));
      b.title = t(labels[kind]);
    });
  }

  function copyReply(el, button) {
    var text = el.raw || '';
    var copied = navigator.clipboard && navigator.clipboard.writeText
      ? navigator.clipboard.writeText(text) : Promise.reject(new Error('no clipboard'));
    copied.catch(function () {
      // Older browsers, or a page that did not grant clipboard-write.
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.className = 'sr';
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand && document.execCommand('copy');
      area.remove();
      button.focus();
      if (!ok) throw new Error('copy failed');
    }).then(function () {
      live.textContent = t('copied');
      button.classList.add('done');
      button.replaceChild(svg(CHECK_ICON), button.firstChild);
      setTimeout(function () {
        button.classList.remove('done');
        button.replaceChild(svg(COPY_ICON), button.firstChild);
      }, 2000);
    }, function () {
      showError(null, null, t('copyFailed'));
    });
  }

  function showRating(el, rating) {
    el.rating = rating;
    Array.prototype.forEach.call(el.querySelectorAll('.act.up, .act.down'), function (b) {
      b.setAttribute('aria-pressed', String(b.classList.contains(rating || 'none')));
    });
  }
  // A second rating replaces the first (the server keeps one per reply).
  function rate(el, rating) {
    if (el.rating === rating || !sessionId) return;
    var before = el.rating;
    showRating(el, rating);
    var body = { sessionId: sessionId, messageId: el.messageId, rating: rating };
    call('POST', 'messages/feedback', body).then(function (r) {
      if (!r.ok) throw failure(r);
      live.textContent = t('thanks');
      remember(body.messageId, rating);
      post('feedback', { sessionId: body.sessionId, messageId: body.messageId, rating: rating });
    }).catch(function (err) {
      showRating(el, before);
      showError(err, function () { rate(el, rating); }, t('ratingFailed'));
    });
  }

  function note(text, kind) {
    var el = document.createElement('div');
    el.className = 'note' + (kind ? ' ' + kind : '');
    el.textContent = text;
    log.appendChild(el);
    scroll();
    return el;
  }
  function scroll() { log.scrollTop = log.scrollHeight; }
  function typing(on) { typingEl.hidden = !on; if (on) scroll(); }
  function setBusy(delta) { busy += delta; sendButton.disabled = busy > 0; }

  function describe(err) {
    var r = err && err.response;
    if (!r || r.status === 0) {
      return (r && r.data.error ? r.data.error + '. ' : '') + t('unreachable');
    }
    var text = r.data.error || t('httpError', { status: r.status });
    if (r.data.detail) text += ': ' + r.data.detail;
    if (r.status === 401) text += '. ' + t('notSetUp');
    else if (r.status >= 500) text += '. ' + t('tryAgain');
    return text;
  }
  // An error in the conversation, announced (role=alert), with Retry when
  // the action can be tried again; `what` says what failed.
  function showError(err, retry, what) {
    var el = note(what ? what + (err ? ': ' + describe(err) : '') : describe(err), 'error');
    el.setAttribute('role', 'alert');
    if (retry) {
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = t('retry');
      b.addEventListener('click', function () { el.remove(); retry(); });
      el.appendChild(b);
    }
  }

  applyLanguage(null);
  if (!hostOrigin || window.parent === window) {
    note('This page is the chat widget\'s frame: embed /widget/chatbot.js in a page to use it.');
    return;
  }
  post('hello', {});
})();
