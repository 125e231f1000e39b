// Small DOM helpers. Everything from the API goes in as text nodes, never as
// markup, so a conversation or a setting cannot inject anything.

/** `h('p', {class: 'x'}, 'text', child)`: an element with attributes and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Says `text` to screen readers (the polite live region) and shows nothing. */
export function announce(text) {
  const status = document.getElementById('status');
  status.textContent = '';
  // A new node each time, so the same message twice is read twice.
  requestAnimationFrame(() => { status.textContent = text; });
}

/** A message box in the page that is also read out (role=status or alert). */
export function notice(kind, text) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Epoch ms, epoch s or an ISO string, as a local date and time. */
export function when(value) {
  const d = toDate(value);
  if (!d) return '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function toDate(value) {
  if (value === undefined || value === null || value === '') return null;
  let d;
  if (typeof value === 'number') d = new Date(value < 1e11 ? value * 1000 : value);
  else d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function number(n) {
  return typeof n === 'number' ? n.toLocaleString() : '—';
}

/** Copies `text`; says whether it worked. */
export async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    announce(`${what} copied to the clipboard.`);
    return true;
  } catch {
    announce(`Could not copy: select the ${what.toLowerCase()} and copy it yourself.`);
    return false;
  }
}

/** A button that copies what `get()` returns. */
export function copyButton(label, what, get) {
  const button = h('button', { type: 'button', class: 'secondary' }, label);
  button.addEventListener('click', async () => {
    if (await copy(get(), what)) {
      button.textContent = 'Copied';
      setTimeout(() => { button.textContent = label; }, 2000);
    }
  });
  return button;
}

/** A busy state on a button while `work` runs. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try { return await work(); } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
