/*
 * The chat UI inside the widget's iframe. It talks to the API on its own
 * origin and to the loader (chatbot.js) in the host page through
 * postMessage, checking the origin and the window of every message.
 */
(function () {
  'use strict';
  var FROM_LOADER = 'chatbot-widget-loader';
  var TO_LOADER = 'chatbot-widget-frame';
  var API = location.origin + '/api/chat/';

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
  var typingEl = $('typing'), live = $('live'), fileInput = $('file');

  var apiKey = '', userId = null, savedId = null, sessionId = null;
  var pageContext = {}, pageData = {};
  var botName = 'Assistant';
  var streamAvailable = true;
  var pendingSession = null;
  var busy = 0;
  var readySent = false;

  // --- loader link ---------------------------------------------------------
  function post(type, data) {
    if (!hostOrigin || window.parent === window) return;
    var msg = { ns: TO_LOADER, type: type };
    for (var k in data) if (Object.prototype.hasOwnProperty.call(data, k)) msg[k] = data[k];
    window.parent.postMessage(msg, hostOrigin);
  }

  window.addEventListener('message', function (e) {
    var d = e.data;
    if (e.source !== window.parent || e.origin !== hostOrigin || !d || d.ns !== FROM_LOADER) return;
    switch (d.type) {
      case 'init':
        apiKey = String(d.apiKey || '');
        userId = d.userId || null;
        savedId = d.sessionId || null;
        pageContext = d.pageContext || {};
        pageData = d.pageData || {};
        loadBotConfig();
        break;
      case 'open':
        focusInput();
        startSession();
        break;
      case 'focus':
        focusInput();
        break;
      case 'new_conversation':
        reset();
        startSession();
        break;
      case 'set_user':
        userId = d.userId || null;
        reset();
        break;
      case 'page_context':
        pageContext = d.pageContext || {};
        if (sessionId) {
          call('PUT', 'sessions/' + sessionId + '/config', { config: { pageContext: pageContext } })
            .catch(function () { /* best effort: the next session gets it */ });
        }
        break;
    }
  });

  function focusInput() { input.focus(); }

  // --- API -----------------------------------------------------------------
  function headers(json) {
    var h = { 'X-API-Key': apiKey };
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }
  function readJson(r) {
    return r.text().then(function (t) {
      var data = null;
      try { data = t ? JSON.parse(t) : null; } catch (e) { /* not JSON */ }
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
      if (!r.ok) { showError(failure(r), loadBotConfig); ready(null); return; }
      var c = r.data;
      botName = c.botName || botName;
      $('bot-name').textContent = botName;
      document.title = botName;
      $('powered-by').textContent = c.poweredBy ? 'Powered by ' + c.poweredBy : '';
      var root = document.documentElement.style;
      var color = validColor(c.botColor), bubble = validColor(c.botMsgBgColor) || color;
      if (color) root.setProperty('--bot', color);
      if (bubble) root.setProperty('--bot-msg', bubble);
      var icon = $('bot-icon');
      icon.textContent = '';
      if (typeof c.botIcon === 'string' && /^(https?:\/\/|\/|data:image\/(png|gif|jpeg|webp);)/i.test(c.botIcon)) {
        var img = document.createElement('img');
        img.alt = '';
        img.src = c.botIcon;
        icon.appendChild(img);
      } else {
        icon.textContent = typeof c.botIcon === 'string' && c.botIcon ? Array.from(c.botIcon).slice(0, 2).join('') : botName.charAt(0).toUpperCase();
      }
      ready(color);
    });
  }
  // The loader hears `ready` once, with the bot colour when it is known.
  function ready(color) {
    if (readySent && !color) return;
    post('ready', { color: color, first: !readySent });
    readySent = true;
  }
  function validColor(c) {
    return typeof c === 'string' && window.CSS && CSS.supports('color', c) ? c : null;
  }

  function createSession() {
    var body = { config: { pageContext: pageContext, pageData: pageData } };
    if (userId) body.user_identifier = userId;
    return call('POST', 'sessions/create', body).then(function (r) {
      if (r.status !== 201) throw failure(r);
      sessionId = r.data.sessionId;
      savedId = null;
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
      log.textContent = '';
      (r.data.messages || []).forEach(function (m) {
        if (m.role === 'user') addMessage('user', m.content).classList.toggle('failed', m.status === 'failed');
        else if (m.role === 'assistant') addMessage('assistant', m.content);
      });
      post('session', { sessionId: id, created: false });
      return id;
    });
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

  function reset() {
    sessionId = null;
    savedId = null;
    log.textContent = '';
  }

  // --- sending -------------------------------------------------------------
  function gone(r) {
    return r.status === 410 || (r.status === 404 && r.data.error === 'Session not found');
  }

  // One exchange: the streaming endpoint when the server has it, else
  // /messages/send. Resolves to {status, ok, data} where data is /send's body.
  function exchange(text, view) {
    var body = JSON.stringify({ sessionId: sessionId, message: text });
    if (!streamAvailable) return call('POST', 'messages/send', JSON.parse(body));
    var h = headers(true);
    h.Accept = 'text/event-stream';
    return fetch(API + 'messages/stream', { method: 'POST', headers: h, body: body }).then(function (r) {
      var type = r.headers.get('Content-Type') || '';
      if (r.ok && type.indexOf('text/event-stream') === 0) return readStream(r, view);
      return readJson(r).then(function (j) {
        if (r.status === 405 || (r.status === 404 && j.data.error !== 'Session not found')) {
          streamAvailable = false; // no such endpoint here: plain send from now on
          return call('POST', 'messages/send', JSON.parse(body));
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
        if (chunk.done) {
          buffer += decoder.decode();
        } else {
          buffer += decoder.decode(chunk.value, { stream: true });
        }
        buffer = buffer.replace(/\r\n?/g, '\n');
        var at;
        while (!result && (at = buffer.indexOf('\n\n')) >= 0) {
          handle(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
        }
        if (result) { reader.cancel().catch(function () {}); return result; }
        if (chunk.done) {
          if (buffer.trim()) handle(buffer);
          return result || { status: 0, ok: false, data: { error: 'The reply was cut off' } };
        }
        return pump();
      });
    }
    return pump().catch(function () { return { status: 0, ok: false, data: { error: 'The reply was cut off' } }; });
  }

  // A reply bubble that fills in as deltas arrive.
  function replyView() {
    var el = null;
    return {
      update: function (text) {
        typing(false);
        if (!el) el = addMessage('assistant', '');
        el.textContent = '';
        renderMarkdown(text, el);
        scroll();
      },
      remove: function () { if (el) el.remove(); el = null; },
      element: function () { return el; }
    };
  }

  function send(text, bubble) {
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
        note(r.status === 410 ? 'That conversation had expired, so a new one was started.' : 'A new conversation was started.');
        sessionId = null;
        return createSession().then(function () { return exchange(text, view); });
      })
      .then(function (r) {
        if (!r.ok) throw failure(r);
        var reply = String(r.data.response || '');
        var el = view.element();
        if (el) { el.textContent = ''; renderMarkdown(reply, el); } else addMessage('assistant', reply);
        live.textContent = botName + ': ' + reply;
        post('message', { message: reply, sessionId: sessionId });
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
  input.addEventListener('input', grow);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { e.preventDefault(); post('close', {}); }
  });
  $('close').addEventListener('click', function () { post('close', {}); });
  $('new-chat').addEventListener('click', function () {
    reset();
    startSession();
    focusInput();
  });

  // --- files ---------------------------------------------------------------
  $('attach').addEventListener('click', function () { fileInput.click(); });
  fileInput.addEventListener('change', function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (file) upload(file);
  });

  function upload(file) {
    var progress = note('Uploading ' + file.name + '…');
    setBusy(1);
    function attempt() {
      var form = new FormData();
      form.append('sessionId', sessionId);
      form.append('file', file, file.name);
      return call('POST', 'files/upload', form);
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
        title.textContent = (f.name || file.name) + ' uploaded';
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
  function addMessage(role, text) {
    var el = document.createElement('div');
    el.className = 'msg ' + role;
    if (role === 'assistant') renderMarkdown(text, el);
    else el.textContent = text;
    log.appendChild(el);
    scroll();
    return el;
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
      return (r && r.data.error ? r.data.error + '. ' : '') + 'Could not reach the chat service. Check your connection and try again.';
    }
    var text = r.data.error || 'Something went wrong (HTTP ' + r.status + ')';
    if (r.data.detail) text += ': ' + r.data.detail;
    if (r.status === 401) text += '. This chat is not set up correctly.';
    else if (r.status >= 500) text += '. Please try again.';
    return text;
  }
  function showError(err, retry) {
    var el = note(describe(err), 'error');
    el.setAttribute('role', 'alert');
    if (retry) {
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Retry';
      b.addEventListener('click', function () { el.remove(); retry(); });
      el.appendChild(b);
    }
  }

  // --- Markdown, safely: DOM nodes and textContent only ---------------------
  function h(tag) { return document.createElement(tag); }
  var LIST = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/;
  var FENCE = /^\s*```/;
  function renderMarkdown(src, el) {
    var lines = String(src).replace(/\r\n?/g, '\n').split('\n');
    var para = [], i = 0, m;
    function flush() {
      if (!para.length) return;
      var p = h('p');
      inline(para.join('\n'), p, 0);
      el.appendChild(p);
      para = [];
    }
    while (i < lines.length) {
      var line = lines[i];
      if (FENCE.test(line)) {
        flush();
        var code = [];
        i++;
        while (i < lines.length && !FENCE.test(lines[i])) code.push(lines[i++]);
        i++;
        var pre = h('pre'), c = h('code');
        c.textContent = code.join('\n');
        pre.appendChild(c);
        el.appendChild(pre);
      } else if ((m = LIST.exec(line))) {
        flush();
        var ordered = /\d/.test(m[1]);
        var list = h(ordered ? 'ol' : 'ul');
        while (i < lines.length && (m = LIST.exec(lines[i])) && /\d/.test(m[1]) === ordered) {
          var li = h('li');
          inline(m[2], li, 0);
          list.appendChild(li);
          i++;
        }
        el.appendChild(list);
      } else if (!line.trim()) {
        flush();
        i++;
      } else {
        para.push(line);
        i++;
      }
    }
    flush();
  }
  var INLINE = /`([^`\n]+)`|\*\*(\S(?:[^\n]*?\S)?)\*\*|\*(\S(?:[^*\n]*?\S)?)\*|\[([^\]\n]+)\]\(([^()\s]+)\)/g;
  function inline(text, el, depth) {
    var last = 0, m;
    INLINE.lastIndex = 0;
    var parts = [];
    while ((m = INLINE.exec(text))) {
      parts.push([m.index, INLINE.lastIndex, m]);
    }
    parts.forEach(function (p) {
      var m = p[2], node;
      plain(text.slice(last, p[0]), el);
      last = p[1];
      if (m[1] !== undefined) {
        node = h('code');
        node.textContent = m[1];
      } else if (m[2] !== undefined || m[3] !== undefined) {
        node = h(m[2] !== undefined ? 'strong' : 'em');
        if (depth < 3) inline(m[2] !== undefined ? m[2] : m[3], node, depth + 1);
        else plain(m[2] !== undefined ? m[2] : m[3], node);
      } else {
        var href = safeUrl(m[5]);
        if (!href) { plain(m[0], el); return; }
        node = h('a');
        node.href = href;
        node.target = '_blank';
        node.rel = 'noopener noreferrer';
        node.textContent = m[4];
      }
      el.appendChild(node);
    });
    plain(text.slice(last), el);
  }
  function plain(text, el) {
    text.split('\n').forEach(function (part, i) {
      if (i) el.appendChild(h('br'));
      if (part) el.appendChild(document.createTextNode(part));
    });
  }
  function safeUrl(u) {
    try {
      var url = new URL(u);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) { return null; }
  }

  if (!hostOrigin || window.parent === window) {
    note('This page is the chat widget\'s frame: embed /widget/chatbot.js in a page to use it.');
    return;
  }
  post('hello', {});
})();
