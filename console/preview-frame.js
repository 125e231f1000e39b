// Runs inside preview.html, the console's widget preview. The console (the
// parent page, same origin) sends the publishable key and the widget's base
// URL; this page then loads the real widget as a tenant's site does, opens
// it, and hands it branding through the `set_brand_settings` host command.
(function () {
  'use strict';
  var NS = 'chat-console-preview';
  var started = false;
  var ready = false;
  var pending = null;

  function toConsole(msg) {
    msg.ns = NS;
    window.parent.postMessage(msg, location.origin);
  }
  function command(name, args) {
    window.postMessage({ target: 'chatbot-widget', command: name, args: args || [] }, location.origin);
  }
  function start(apiKey, widgetBase) {
    if (started) return;
    started = true;
    var src;
    try {
      src = new URL('chatbot.js', widgetBase);
    } catch (e) {
      toConsole({ type: 'failed', reason: 'the widget address is not a URL' });
      return;
    }
    src.searchParams.set('apiKey', apiKey);
    // The preview keeps no visitor id and no conversation beyond this tab.
    src.searchParams.set('noTracking', 'true');
    var script = document.createElement('script');
    script.src = src.href;
    script.onerror = function () { toConsole({ type: 'failed', reason: 'the widget did not load' }); };
    document.body.appendChild(script);
  }

  window.addEventListener('message', function (e) {
    var d = e.data;
    if (!d || typeof d !== 'object') return;
    if (d.source === 'chatbot-widget' && e.source === window && d.type === 'widget_ready') {
      // Opened once, without taking the focus: the tenant's place in the
      // console (keyboard or screen reader) stays in the form.
      if (!ready) command('open', [{ focus: false }]);
      ready = true;
      if (pending) command('set_brand_settings', [pending]);
      toConsole({ type: 'ready' });
      return;
    }
    if (e.origin !== location.origin || e.source !== window.parent || d.ns !== NS) return;
    if (d.type === 'init' && typeof d.apiKey === 'string' && typeof d.widgetBase === 'string') {
      start(d.apiKey, d.widgetBase);
    } else if (d.type === 'brand' && d.brand && typeof d.brand === 'object') {
      pending = d.brand;
      if (ready) command('set_brand_settings', [pending]);
    }
  });
  toConsole({ type: 'hello' });
})();
