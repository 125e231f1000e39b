// Settings: every field of the tenant's `settings`, saved with one JSON
// merge patch (PATCH /api/tenant/settings). A 400 names the bad field
// (`field`, e.g. "bot.color"); the message is shown next to that field.
// Branding is previewed live in the real widget (preview.html).
import { api } from '../api.js';
import { h, notice, announce, busy, copyButton } from '../ui.js';
import { brandOf, preview } from './preview.js';

const COLOR = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

/** [path, label, kind, extra]. kind: text, area, color, select, lines, number, check. */
const GROUPS = [
  ['Branding', [
    ['bot.name', 'Bot name', 'text', { maxlength: 100 }],
    ['bot.poweredBy', 'Powered-by line', 'text', { maxlength: 100 }],
    ['bot.color', 'Colour', 'color', {}],
    ['bot.msgBgColor', 'Visitor message colour', 'color', {}],
    ['bot.icon', 'Icon (an https image URL)', 'text', { maxlength: 2048, type: 'url' }],
    ['bot.welcomeMessage', 'Welcome message', 'area', { rows: 2, maxlength: 1000 }],
    ['bot.starterPrompts', 'Starter prompts (one per line, up to 6)', 'lines', { rows: 3 }],
    ['bot.position', 'Position on the page', 'select', { options: [['right', 'Right'], ['left', 'Left']] }],
    ['bot.theme', 'Theme', 'select', { options: [['auto', 'Follow the visitor’s system'], ['light', 'Light'], ['dark', 'Dark']] }],
    ['bot.language', 'Language (e.g. en, pt-BR; empty: the visitor’s browser)', 'text', { maxlength: 35 }],
  ]],
  ['Assistant', [
    ['systemPrompt', 'System prompt', 'area', { rows: 6, maxlength: 6000 }],
    ['defaultProvider', 'Default provider', 'select', { options: [['', 'The deployment’s default']] }],
  ]],
  ['Access', [
    ['allowedOrigins', 'Allowed origins (one per line, e.g. https://shop.example; empty: any)', 'lines', { rows: 3 }],
    ['identity.enabled', 'Verify visitor identity (signed user identifiers)', 'check', {}],
    ['identity.required', 'Require a verified identity to chat', 'check', {}],
  ]],
  ['Limits', [
    ['rateLimitPerHour', 'Messages per API key per hour (secret keys; empty: the deployment’s limit)', 'number', { min: 1 }],
    ['limits.perVisitorPerHour', 'Messages per widget visitor per hour (empty: the per-key limit)', 'number', { min: 1 }],
    ['limits.tenantPerHour', 'Messages per hour from all widget visitors together (empty: no ceiling)', 'number', { min: 1 }],
    ['retentionDays', 'Keep conversations for (days; empty: the deployment’s default)', 'number', { min: 1 }],
  ]],
  ['Budget', [
    ['budget.monthlyMessages', 'Messages per month (empty: no cap)', 'number', { min: 1 }],
    ['budget.monthlyTokens', 'Provider tokens per month, input and output (empty: no cap)', 'number', { min: 1 }],
    ['budget.softPercent', 'Warn at this percent of a cap (empty: 80)', 'number', { min: 1 }],
    ['budget.onExceeded', 'When a cap is reached', 'select', { options: [['reject', 'Refuse messages'], ['fallback', 'Answer with the fallback provider']] }],
    ['budget.fallbackProvider', 'Fallback provider (e.g. a cheaper one)', 'text', { maxlength: 32 }],
    ['budget.fallbackModel', 'Fallback model (empty: the provider’s default)', 'text', { maxlength: 100 }],
  ]],
];

const FIELDS = GROUPS.flatMap(([, fields]) => fields);
const idOf = (path) => `set-${path.replace(/\./g, '-')}`;

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}
function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {});
  o[keys[keys.length - 1]] = value;
}

export function settings(main) {
  const form = h('form', { id: 'settings-form', novalidate: true });
  const top = h('div', { class: 'form-status' });
  const livePreview = preview();
  main.append(
    h('h1', {}, 'Settings'),
    h('div', { class: 'settings-layout' }, h('div', {}, top, form), livePreview.element));

  let saved = null;
  api.tenant().then((tenant) => {
    saved = tenant.settings || {};
    build(form, saved);
    livePreview.brand(brandOf(saved));
    fillProviders(form, saved.defaultProvider);
    showDefaults(form);
  }, (e) => top.replaceChildren(notice('error', `Could not load the settings: ${e.message}`)));

  form.addEventListener('input', (e) => {
    if (e.target.closest('[data-group="Branding"]')) livePreview.brand(brandOf(read(form)));
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    busy(button, async () => {
      clearErrors(form, top);
      const local = check(form);
      if (local) { showError(form, top, local.field, local.detail); return; }
      try {
        const tenant = await api.patchSettings(read(form));
        saved = tenant.settings || read(form);
        build(form, saved);
        fillProviders(form, saved.defaultProvider);
        showDefaults(form);
        livePreview.brand(brandOf(saved));
        if (tenant.identitySecret) showIdentitySecret(tenant.identitySecret);
        top.replaceChildren(notice('ok', 'Settings saved.'));
        announce('Settings saved.');
      } catch (err) {
        const field = err.body && err.body.field;
        showError(form, top, field, err.body.detail || err.message);
      }
    });
  });
  return { leave: livePreview.leave };
}

function build(form, values) {
  form.replaceChildren(
    ...GROUPS.map(([legend, fields]) => h('fieldset', { dataset: { group: legend } },
      h('legend', {}, legend), fields.map((f) => control(f, getPath(values, f[0]))),
      legend === 'Access' ? identityRotation() : null)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save settings')));
}

function control([path, label, kind, extra], value) {
  const id = idOf(path);
  const errorId = `${id}-error`;
  const common = { id, 'aria-describedby': errorId, dataset: { path } };
  let input;
  if (kind === 'area' || kind === 'lines') {
    input = h('textarea', { ...common, rows: extra.rows, maxlength: extra.maxlength });
    input.value = kind === 'lines' ? (value || []).join('\n') : (value ?? '');
  } else if (kind === 'select') {
    input = h('select', common, extra.options.map(([v, t]) => h('option', { value: v }, t)));
    if (value != null && ![...input.options].some((o) => o.value === value)) {
      input.append(h('option', { value }, value));
    }
    input.value = value ?? extra.options[0][0];
  } else if (kind === 'check') {
    input = h('input', { ...common, type: 'checkbox' });
    input.checked = Boolean(value);
    return h('div', { class: 'field check' }, input, h('label', { for: id }, label), h('p', { class: 'error', id: errorId }));
  } else if (kind === 'number') {
    input = h('input', { ...common, type: 'number', inputmode: 'numeric', min: extra.min, step: 1 });
    input.value = value ?? '';
  } else {
    input = h('input', { ...common, type: extra.type || 'text', maxlength: extra.maxlength, autocomplete: 'off' });
    input.value = value ?? '';
  }
  const row = kind === 'color' ? colorPair(input, label) : input;
  return h('div', { class: 'field' }, h('label', { for: id }, label), row, h('p', { class: 'error', id: errorId }));
}

/** What an empty branding field falls back to (the deployment's default,
 * as bot-config reports it), shown as the field's placeholder. */
const DEFAULTS = { 'bot.name': 'botName', 'bot.poweredBy': 'poweredBy', 'bot.color': 'botColor', 'bot.msgBgColor': 'botMsgBgColor' };

async function showDefaults(form) {
  let config;
  try { config = await api.botConfig(); } catch { return; }
  for (const [path, key] of Object.entries(DEFAULTS)) {
    const el = form.querySelector(`#${idOf(path)}`);
    if (el && typeof config[key] === 'string' && !el.value) {
      el.placeholder = config[key];
      el.dispatchEvent(new Event('placeholder'));
    }
  }
}

/** A text field for the hex value beside the browser's colour picker; an
 * empty field shows its placeholder (the default) in the picker. Below, the
 * contrast of text on the colour and what the widget will show instead when
 * it is under WCAG AA (the widget's own maths, colour.js). */
function colorPair(text, label) {
  text.setAttribute('spellcheck', 'false');
  const picker = h('input', { type: 'color', 'aria-label': `${label}: picker`, tabindex: '-1' });
  const report = h('p', { class: 'contrast', id: `${text.id}-contrast` });
  text.setAttribute('aria-describedby', `${text.getAttribute('aria-describedby')} ${report.id}`);
  const sync = () => {
    const v = text.value.trim() || text.placeholder;
    if (COLOR.test(v)) picker.value = expand(v);
    showContrast(report, COLOR.test(v) ? v : null);
  };
  sync();
  text.addEventListener('input', sync);
  text.addEventListener('placeholder', sync);
  picker.addEventListener('input', () => {
    text.value = picker.value;
    text.dispatchEvent(new Event('input', { bubbles: true }));
  });
  return [h('div', { class: 'color-row' }, picker, text), report];
}

const ratio = (n) => `${(Math.floor(n * 100) / 100).toFixed(2)}:1`;

function showContrast(report, hex) {
  const C = window.ChatbotColour;
  const rgb = hex && C ? C.parseHex(hex) : null;
  report.classList.remove('warn');
  if (!rgb) { report.textContent = ''; return; }
  const white = C.contrast(rgb, C.WHITE);
  const dark = C.contrast(rgb, C.NEAR_BLACK);
  const best = Math.max(white, dark);
  const s = C.surface(rgb);
  const on = s.text === '#ffffff' ? 'white' : 'near-black';
  if (best >= C.AA && !s.adjusted) {
    report.textContent = `Contrast ${ratio(C.contrast(rgb, C.parseHex(s.text)))} with ${on} text: meets WCAG AA (4.5:1).`;
    return;
  }
  report.classList.add('warn');
  report.textContent = `White text on it: ${ratio(white)}, below WCAG AA (4.5:1). ` +
    (s.adjusted
      ? `The widget shows it as ${s.background} (${ratio(s.ratio)} with white text).`
      : `The widget puts ${on} text on it (${ratio(s.ratio)}).`);
}

function expand(c) {
  return c.length === 4 ? `#${c[1]}${c[1]}${c[2]}${c[2]}${c[3]}${c[3]}`.toLowerCase() : c.toLowerCase();
}

/** The form as a full merge patch of `settings`: empty optional text is null. */
function read(form) {
  const patch = {};
  for (const [path, , kind] of FIELDS) {
    const el = form.querySelector(`#${idOf(path)}`);
    if (!el) continue;
    let value;
    if (kind === 'check') value = el.checked;
    else if (kind === 'lines') value = el.value.split('\n').map((s) => s.trim()).filter(Boolean);
    else if (kind === 'number') value = el.value.trim() === '' ? null : Number(el.value);
    else value = el.value.trim() === '' ? null : el.value.trim();
    setPath(patch, path, value);
  }
  return patch;
}

/** What the browser can tell before asking the server. */
function check(form) {
  for (const [path, , kind] of FIELDS) {
    const el = form.querySelector(`#${idOf(path)}`);
    if (!el) continue;
    const v = el.value.trim();
    if (kind === 'color' && v && !COLOR.test(v)) return { field: path, detail: 'Use a hex colour such as #667eea.' };
    if (kind === 'number' && v && !(Number.isInteger(Number(v)) && Number(v) >= 1)) {
      return { field: path, detail: 'Use a whole number of 1 or more.' };
    }
  }
  return null;
}

function clearErrors(form, top) {
  top.replaceChildren();
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.error')) el.textContent = '';
}

/** Shows `detail` next to the field the server named ("bot.color",
 * "allowedOrigins[1]", or a parent such as "identity"); else above the form. */
function showError(form, top, field, detail) {
  const path = String(field || '').replace(/\[\d+\]/g, '');
  const match = FIELDS.find(([p]) => p === path) || FIELDS.find(([p]) => path && p.startsWith(`${path}.`));
  const el = match && form.querySelector(`#${idOf(match[0])}`);
  if (!el) {
    top.replaceChildren(notice('error', `Not saved: ${detail}`));
    return;
  }
  el.setAttribute('aria-invalid', 'true');
  document.getElementById(`${el.id}-error`).textContent = detail;
  top.replaceChildren(notice('error', `Not saved: ${match[1]}: ${detail}`));
  el.focus();
}

async function fillProviders(form, current) {
  const select = form.querySelector(`#${idOf('defaultProvider')}`);
  let list = [];
  try { list = ((await api.providers()) || {}).providers || []; } catch { return; }
  for (const p of list) {
    if (![...select.options].some((o) => o.value === p.id)) {
      select.append(h('option', { value: p.id }, p.defaultModel ? `${p.id} (${p.defaultModel})` : p.id));
    }
  }
  select.value = current ?? '';
}

/** Rotating the identity secret (which also turns identity on). */
function identityRotation() {
  const out = h('div', { class: 'secret-out', id: 'identity-secret-out', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary', id: 'rotate-identity' }, 'Rotate the identity secret');
  button.addEventListener('click', () => {
    if (!window.confirm('Make a new identity secret? Signatures made with the old one stop working.')) return;
    busy(button, async () => {
      const required = document.getElementById(idOf('identity.required'));
      try {
        const res = await api.patchSettings({ identity: { enabled: true, required: required.checked, rotateSecret: true } });
        // The form must not turn identity off again on the next save.
        const identity = (res.settings && res.settings.identity) || {};
        document.getElementById(idOf('identity.enabled')).checked = Boolean(identity.enabled);
        required.checked = Boolean(identity.required);
        if (res.identitySecret) showIdentitySecret(res.identitySecret);
        else out.replaceChildren(notice('error', 'The server did not return a new secret.'));
      } catch (e) {
        out.replaceChildren(notice('error', `Could not rotate: ${e.message}`));
      }
    });
  });
  return h('div', { class: 'field rotation' }, button, out);
}

/** A new identity secret (rotated, or identity just turned on): shown
 * once, with a copy button. */
function showIdentitySecret(secret) {
  const out = document.getElementById('identity-secret-out');
  if (!out) return;
  const field = h('input', { id: 'identity-secret', type: 'text', readonly: true, value: secret, spellcheck: 'false' });
  out.replaceChildren(
    h('label', { for: 'identity-secret' }, 'New identity secret (shown once: store it on your server now)'),
    h('div', { class: 'copy-row' }, field, copyButton('Copy', 'Identity secret', () => secret)));
  announce('A new identity secret is shown once. Copy it now.');
}
