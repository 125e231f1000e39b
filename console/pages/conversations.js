// Conversations: the tenant's sessions newest first, filtered by user and
// dates and paged with nextCursor; one session's transcript at
// #/conversations/<id>; delete; export of everything as JSONL or CSV.
import { api } from '../api.js';
import { h, notice, when, announce, busy, toDate } from '../ui.js';

const PAGE_SIZE = 20;
/** The filter survives opening a transcript and coming back. */
const filter = { user: '', from: '', to: '' };

export function conversations(main, [sessionId]) {
  if (sessionId) return transcript(main, sessionId);
  return list(main);
}

function list(main) {
  const status = h('div', { class: 'list-status' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  let cursor = null;

  const user = h('input', { id: 'filter-user', type: 'search', value: filter.user, autocomplete: 'off' });
  const from = h('input', { id: 'filter-from', type: 'date', value: filter.from });
  const to = h('input', { id: 'filter-to', type: 'date', value: filter.to });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter conversations' },
    field('filter-user', 'User identifier', user),
    field('filter-from', 'From', from),
    field('filter-to', 'To', to),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit' }, 'Filter'),
      h('button', { type: 'button', class: 'secondary', onclick: () => {
        user.value = ''; from.value = ''; to.value = ''; form.requestSubmit();
      } }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(filter, { user: user.value.trim(), from: from.value, to: to.value });
    load(true);
  });

  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Conversations'), exportControls()),
    form,
    status,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'sessions cards', id: 'sessions' },
        h('caption', { class: 'sr' }, 'Conversations, newest first'),
        h('thead', {}, h('tr', {},
          ['Conversation', 'User', 'Last activity', 'Messages', 'Feedback'].map((t) => h('th', { scope: 'col' }, t)))),
        tbody)),
    h('div', { class: 'pager' }, more));
  more.addEventListener('click', () => busy(more, () => load(false)));

  async function load(fresh) {
    if (fresh) { cursor = null; tbody.replaceChildren(); }
    status.replaceChildren();
    let page;
    try {
      page = await api.sessions({
        user: filter.user, from: dayStart(filter.from), to: dayEnd(filter.to), limit: PAGE_SIZE, cursor,
      });
    } catch (e) {
      status.replaceChildren(notice('error', `Could not load the conversations: ${e.message}`));
      return;
    }
    const sessions = (page && page.sessions) || [];
    tbody.append(...sessions.map(row));
    cursor = (page && page.nextCursor) || null;
    more.hidden = !cursor;
    const shown = tbody.children.length;
    if (!shown) status.replaceChildren(notice('info', 'No conversations match.'));
    announce(`${shown} conversation${shown === 1 ? '' : 's'} shown${cursor ? ', more available' : ''}.`);
  }

  load(true);
  return null;
}

function field(id, label, input) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

/** `from`/`to` as RFC 3339 instants covering whole local days. */
function dayStart(date) {
  return date ? new Date(`${date}T00:00:00`).toISOString() : '';
}
function dayEnd(date) {
  return date ? new Date(`${date}T23:59:59.999`).toISOString() : '';
}

function row(s) {
  const fb = s.feedback || {};
  const preview = s.preview || '(no messages yet)';
  return h('tr', { dataset: { sessionId: s.sessionId } },
    h('td', { class: 'preview' },
      h('a', { href: `#/conversations/${encodeURIComponent(s.sessionId)}` }, preview),
      s.hasFile ? h('span', { class: 'badge' }, 'file') : null),
    h('td', { class: 'user', 'data-label': 'User' }, s.userIdentifier || '—'),
    h('td', { 'data-label': 'Last activity' }, when(s.lastActivity || s.createdAt)),
    h('td', { class: 'num', 'data-label': 'Messages' }, String(s.messageCount ?? '—')),
    h('td', { 'data-label': 'Feedback' }, feedbackText(fb)));
}

function feedbackText(fb) {
  const up = fb.up || 0;
  const down = fb.down || 0;
  if (!up && !down) return '—';
  return `${up} up · ${down} down`;
}

function exportControls() {
  const format = h('select', { id: 'export-format' },
    h('option', { value: 'jsonl' }, 'JSON Lines'), h('option', { value: 'csv' }, 'CSV'));
  const button = h('button', { type: 'button', class: 'secondary' }, 'Export all');
  const out = h('span', { class: 'export-status', role: 'status' });
  button.addEventListener('click', () => busy(button, async () => {
    out.textContent = 'Preparing the export…';
    try {
      const blob = await api.exportBlob(format.value);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `conversations.${format.value}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      out.textContent = `Export downloaded (${Math.ceil(blob.size / 1024)} KB).`;
    } catch (e) {
      out.textContent = `Export failed: ${e.message}`;
    }
  }));
  return h('div', { class: 'export' },
    h('label', { for: 'export-format' }, 'Format'), format, button, out);
}

// --- one conversation -------------------------------------------------------

function transcript(main, sessionId) {
  const body = h('div', { 'aria-busy': 'true' }, h('p', {}, 'Loading…'));
  main.append(
    h('p', { class: 'back' }, h('a', { href: '#/conversations' }, '← All conversations')),
    h('h1', {}, 'Conversation'),
    body);
  api.session(sessionId).then((data) => {
    body.replaceChildren(...details(data, sessionId).filter(Boolean));
    body.removeAttribute('aria-busy');
  }, (e) => {
    body.replaceChildren(notice('error', e.status === 404
      ? 'This conversation does not exist (deleted, expired or not yours).'
      : `Could not load the conversation: ${e.message}`));
    body.removeAttribute('aria-busy');
  });
  return null;
}

function details(data, sessionId) {
  const session = data.session || data;
  const messages = data.messages || session.messages || [];
  const file = data.file || data.activeFile || session.activeFile || session.file || null;
  const config = data.config || session.config || {};
  const facts = [
    ['Session', session.sessionId || sessionId, 'wide'],
    ['User', userLink(session.userIdentifier), 'wide'],
    ['Started', when(session.createdAt)],
    ['Last activity', when(session.lastActivity)],
    ['Messages', String(session.messageCount ?? messages.length)],
    ['Status', session.isExpired ? 'Expired' : 'Active'],
  ];
  return [
    h('dl', { class: 'facts' }, facts.map(([k, v, cls]) => h('div', { class: cls }, h('dt', {}, k), h('dd', {}, v)))),
    deleteButton(sessionId),
    file ? fileSummary(file) : null,
    Object.keys(config).length ? h('details', { class: 'config' },
      h('summary', {}, 'Session configuration'),
      h('pre', {}, JSON.stringify(config, null, 2))) : null,
    h('h2', { class: 'transcript-title' }, 'Transcript'),
    messages.length
      ? h('ol', { class: 'transcript', id: 'transcript' }, messages.map(message))
      : h('p', {}, 'No messages.'),
  ];
}

/** The user's identifier, linking to the list of their conversations. */
function userLink(user) {
  if (!user) return '—';
  return h('a', {
    href: '#/conversations',
    onclick: () => Object.assign(filter, { user, from: '', to: '' }),
  }, user);
}

function fileSummary(file) {
  const summary = file.summary || file.aiSummary || '';
  return h('section', { class: 'card file', 'aria-labelledby': 'file-title' },
    h('h2', { id: 'file-title' }, 'Active file'),
    h('p', {}, [file.name || file.filename || 'file', file.rows != null ? ` · ${file.rows} rows` : '',
      file.size != null ? ` · ${Math.ceil(file.size / 1024)} KB` : '',
      file.uploadedAt ? ` · uploaded ${when(file.uploadedAt)}` : ''].join('')),
    file.columns && file.columns.length ? h('p', { class: 'hint' }, `Columns: ${file.columns.join(', ')}`) : null,
    summary ? h('p', { class: 'summary' }, typeof summary === 'string' ? summary : JSON.stringify(summary)) : null);
}

function message(m) {
  const meta = { ...(m.metadata || {}), ...m };
  const parts = [];
  if (meta.provider) parts.push(meta.provider);
  if (meta.model) parts.push(meta.model);
  const latency = meta.latencyMs ?? meta.latency_ms ?? meta.responseTimeMs ?? meta.processing_time;
  if (latency != null) parts.push(`${latency} ms`);
  const tin = meta.inputTokens ?? meta.input_tokens;
  const tout = meta.outputTokens ?? meta.output_tokens;
  if (tin != null || tout != null) parts.push(`${tin ?? 0} in / ${tout ?? 0} out tokens`);
  if (meta.status && meta.status !== 'ok' && meta.status !== 'complete') parts.push(`status: ${meta.status}`);
  const time = toDate(m.timestamp ?? m.createdAt);
  return h('li', { class: `turn ${m.role}`, dataset: { messageId: m.messageId || '' } },
    h('div', { class: 'turn-head' },
      h('span', { class: 'role' }, roleName(m.role)),
      time ? h('time', { datetime: time.toISOString() }, when(time.getTime())) : null),
    h('div', { class: 'content' }, m.content || ''),
    parts.length ? h('p', { class: 'meta' }, parts.join(' · ')) : null,
    feedback(m.feedback));
}

function roleName(role) {
  return { user: 'Visitor', assistant: 'Assistant', system: 'System' }[role] || role || '—';
}

function feedback(fb) {
  if (!fb || !fb.rating) return null;
  const up = fb.rating === 'up';
  return h('p', { class: `feedback ${up ? 'up' : 'down'}` },
    h('span', { class: 'thumb', 'aria-hidden': 'true' }, up ? '▲ ' : '▼ '),
    up ? 'Rated helpful' : 'Rated not helpful',
    fb.comment ? `: “${fb.comment}”` : '');
}

function deleteButton(sessionId) {
  const button = h('button', { type: 'button', class: 'danger', id: 'delete-session' }, 'Delete conversation');
  const out = h('p', { class: 'error', role: 'alert' });
  button.addEventListener('click', () => {
    if (!window.confirm('Delete this conversation, its messages and files? This cannot be undone.')) return;
    busy(button, async () => {
      try {
        await api.deleteSession(sessionId);
        announce('Conversation deleted.');
        location.hash = '#/conversations';
      } catch (e) {
        out.textContent = `Could not delete: ${e.message}`;
      }
    });
  });
  return h('div', { class: 'actions' }, button, out);
}
