// Keys: the tenant's API keys (never the keys themselves, only prefixes),
// a new key shown once with a copy button, revoking; the embed snippet.
import { api, signedInWith } from '../api.js';
import { h, notice, when, announce, busy, copyButton } from '../ui.js';

export function keys(main) {
  const listStatus = h('div');
  const tbody = h('tbody');
  const created = h('div', { class: 'created-key' });
  const snippet = h('div', { class: 'snippet' }, h('p', {}, 'Loading…'));

  const kind = h('select', { id: 'key-kind', 'aria-describedby': 'key-kind-hint' },
    h('option', { value: 'secret' }, 'Secret (cb_)'),
    h('option', { value: 'publishable' }, 'Publishable (pk_)'));
  const label = h('input', { id: 'key-label', type: 'text', maxlength: 100, autocomplete: 'off', 'aria-describedby': 'key-label-error' });
  const labelError = h('p', { class: 'error', id: 'key-label-error' });
  const form = h('form', { id: 'key-form', class: 'key-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'key-kind' }, 'Kind'), kind,
      h('p', { class: 'hint', id: 'key-kind-hint' }, 'Secret keys are for your servers and this console; publishable keys for web pages.')),
    h('div', { class: 'field' }, h('label', { for: 'key-label' }, 'Label'), label, labelError),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create key')));

  main.append(
    h('h1', {}, 'Keys'),
    h('section', { 'aria-labelledby': 'keys-title' },
      h('h2', { id: 'keys-title' }, 'API keys'),
      listStatus,
      h('div', { class: 'table-wrap' }, h('table', { id: 'keys', class: 'cards' },
        h('caption', { class: 'sr' }, 'API keys'),
        h('thead', {}, h('tr', {}, ['Label', 'Kind', 'Key', 'Created', 'Last used', 'Status', ''].map(
          (t, i) => h('th', { scope: 'col' }, t || h('span', { class: 'sr' }, i === 6 ? 'Actions' : ''))))),
        tbody))),
    h('section', { 'aria-labelledby': 'new-key-title', class: 'card' },
      h('h2', { id: 'new-key-title' }, 'Create a key'), form, created),
    h('section', { 'aria-labelledby': 'embed-title', class: 'card' },
      h('h2', { id: 'embed-title' }, 'Embed the widget'),
      h('p', {}, 'Paste this before the closing </body> tag of every page that should show the chat.'),
      snippet));

  async function load() {
    let res;
    try { res = await api.keys(); } catch (e) {
      listStatus.replaceChildren(notice('error', `Could not load the keys: ${e.message}`));
      return;
    }
    const list = Array.isArray(res) ? res : (res && res.keys) || [];
    listStatus.replaceChildren();
    tbody.replaceChildren(...list.map((k) => keyRow(k, load)));
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    labelError.textContent = '';
    label.removeAttribute('aria-invalid');
    busy(form.querySelector('button[type=submit]'), async () => {
      try {
        const res = await api.createKey(kind.value, label.value.trim() || null);
        label.value = '';
        created.replaceChildren(...shownOnce(res));
        document.getElementById('new-key').focus();
        announce(`${res.kind === 'publishable' ? 'Publishable' : 'Secret'} key created. Copy it now: it is shown only once.`);
        await load();
      } catch (err) {
        labelError.textContent = err.message;
        label.setAttribute('aria-invalid', 'true');
        label.focus();
      }
    });
  });

  load();
  loadSnippet(snippet);
  return null;
}

function keyRow(k, reload) {
  const revoked = Boolean(k.revoked || k.revokedAt);
  const name = k.label || (k.kind === 'publishable' ? 'Publishable key' : 'Secret key');
  const revoke = revoked ? null : h('button', {
    type: 'button', class: 'danger small', 'aria-label': `Revoke ${name} (${k.prefix}…)`,
  }, 'Revoke');
  const out = h('span', { class: 'error', role: 'alert' });
  if (revoke) {
    revoke.addEventListener('click', () => {
      if (!window.confirm(`Revoke ${name}? Anything using it stops working at once.`)) return;
      busy(revoke, async () => {
        try {
          await api.revokeKey(k.keyId || k.id);
          announce(`${name} revoked.`);
          await reload();
        } catch (e) {
          out.textContent = e.status === 409
            ? 'This is your last active secret key: create another one first.'
            : `Could not revoke: ${e.message}`;
        }
      });
    });
  }
  return h('tr', { class: revoked ? 'revoked' : null, dataset: { keyId: k.keyId || k.id, kind: k.kind } },
    h('td', { 'data-label': 'Label' }, k.label || '—',
      !revoked && signedInWith(k.prefix) ? h('span', { class: 'badge' }, 'this console') : null),
    h('td', { 'data-label': 'Kind' }, k.kind === 'publishable' ? 'Publishable' : 'Secret'),
    h('td', { 'data-label': 'Key' }, h('code', {}, `${k.prefix || ''}…`)),
    h('td', { 'data-label': 'Created' }, when(k.createdAt)),
    h('td', { 'data-label': 'Last used' }, k.lastUsedAt ? when(k.lastUsedAt) : 'Never'),
    h('td', { class: 'key-status', 'data-label': 'Status' }, revoked ? 'Revoked' : 'Active'),
    h('td', {}, revoke, out));
}

function shownOnce(res) {
  const key = res.key || res.apiKey || '';
  const input = h('input', { id: 'new-key', type: 'text', readonly: true, value: key, spellcheck: 'false', autocomplete: 'off' });
  return [
    notice('ok', 'Copy the new key now: it is shown only this once and cannot be read again.'),
    h('label', { for: 'new-key' }, `New ${res.kind === 'publishable' ? 'publishable' : 'secret'} key`),
    h('div', { class: 'copy-row' }, input, copyButton('Copy key', 'Key', () => key)),
  ];
}

async function loadSnippet(box) {
  try {
    const code = await api.widgetCode();
    const area = h('textarea', { id: 'embed-code', readonly: true, rows: 4, spellcheck: 'false' });
    area.value = code.html || '';
    box.replaceChildren(
      h('label', { for: 'embed-code' }, `Embed code (publishable key ${code.apiKeyPrefix || 'pk_'}…)`),
      area,
      h('div', { class: 'actions' }, copyButton('Copy embed code', 'Embed code', () => area.value)));
  } catch (e) {
    box.replaceChildren(notice('error', `Could not load the embed code: ${e.message}`));
  }
}
