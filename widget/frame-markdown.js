/*
 * Replies as GitHub renders Markdown in comments (GFM: tables,
 * strikethrough, task lists, autolinks, line breaks), parsed by marked and sanitised by DOMPurify (both
 * vendored in widget/vendor/). Model output is untrusted, so on top of the
 * sanitiser:
 * - raw HTML in the reply shows as text, never as markup;
 * - images become links (an <img> would fetch from any host the model names);
 * - only http(s) and mailto links stay links, opened in a new tab without
 *   an opener; anything else is reduced to its text;
 * - wide tables and code blocks scroll inside a focusable region.
 * window.ChatbotMarkdown.render(text, element) replaces element's content.
 */
(function () {
  'use strict';
  var marked = window.marked, DOMPurify = window.DOMPurify;
  var SAFE_HREF = /^(https?:|mailto:)/i;

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // Line breaks kept as GitHub keeps them in comments and chat-like text:
  // a model writing two lines means two lines.
  var parser = new marked.Marked({ gfm: true, breaks: true, async: false });
  parser.use({
    renderer: {
      html: function (token) { return escapeHtml(token.text); },
      image: function (token) {
        var label = escapeHtml(token.text || token.href);
        return SAFE_HREF.test(token.href) ? '<a href="' + escapeHtml(token.href) + '">' + label + '</a>' : label;
      },
      checkbox: function (token) { return token.checked ? '\u2611 ' : '\u2610 '; },
      // The frame's own <h1> is the bot's name: a reply's headings sit below it.
      heading: function (token) {
        var level = Math.min(token.depth + 2, 6);
        return '<h' + level + ' class="h' + token.depth + '">' + this.parser.parseInline(token.tokens) + '</h' + level + '>';
      }
    }
  });

  var PURIFY = {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'video', 'audio'],
    FORBID_ATTR: ['style', 'id', 'tabindex']
  };

  function finish(fragment, labels) {
    Array.prototype.forEach.call(fragment.querySelectorAll('a'), function (a) {
      var href = a.getAttribute('href') || '';
      if (!SAFE_HREF.test(href)) {
        a.replaceWith.apply(a, Array.prototype.slice.call(a.childNodes));
        return;
      }
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
    });
    Array.prototype.forEach.call(fragment.querySelectorAll('table'), function (table) {
      var region = document.createElement('div');
      region.className = 'table';
      region.tabIndex = 0;
      region.setAttribute('role', 'region');
      region.setAttribute('aria-label', labels.table);
      table.replaceWith(region);
      region.appendChild(table);
    });
    Array.prototype.forEach.call(fragment.querySelectorAll('pre'), function (pre) { pre.tabIndex = 0; });
  }

  window.ChatbotMarkdown = {
    render: function (text, el, labels) {
      var html = parser.parse(String(text || '')).trim();
      var fragment = DOMPurify.sanitize(html, PURIFY);
      finish(fragment, labels || { table: 'Table' });
      el.textContent = '';
      el.appendChild(fragment);
    }
  };
})();
