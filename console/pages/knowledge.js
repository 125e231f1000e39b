// Knowledge: the documents the bot answers from. Add a file (Markdown,
// text, HTML, PDF) or a URL (a page, or a sitemap's pages), list and delete
// them, and try a search to see which passages a question would bring.
import { api } from '../api.js';
import { h, notice, when, number, announce, busy } from '../ui.js';

export function knowledge(main) {
  const listStatus = h('div');
  const tbody = h('tbody');
  const addStatus = h('div', { id: 'knowledge-add-status' });
  const results = h('ol', { id: 'knowledge-results', class: 'results' });

  const file = h('input', { id: 'knowledge-file', type: 'file', accept: '.md,.markdown,.txt,.html,.htm,.pdf,text/markdown,text/plain,text/html,application/pdf' });
  const fileForm = h('form', { id: 'knowledge-file-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'knowledge-file' }, 'File'), file,
      h('p', { class: 'hint' }, 'Markdown, plain text, HTML or PDF (with a text layer), up to 20 MB.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add file')));
  const url = h('input', { id: 'knowledge-url', type: 'url', placeholder: 'https://help.example.com/sitemap.xml', autocomplete: 'off' });
  const urlForm = h('form', { id: 'knowledge-url-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'knowledge-url' }, 'Page or sitemap URL'), url,
      h('p', { class: 'hint' }, 'A sitemap.xml adds each of its pages on the same site (up to 50).')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add URL')));
  const query = h('input', { id: 'knowledge-query', type: 'search', autocomplete: 'off', maxlength: 1000 });
  const searchForm = h('form', { id: 'knowledge-search-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'knowledge-query' }, 'A visitor\'s question'), query),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search')));

  main.append(
    h('h1', {}, 'Knowledge'),
    h('p', {}, 'The bot answers from these documents and shows them as sources under its replies.'),
    h('section', { 'aria-labelledby': 'knowledge-add-title', class: 'card' },
      h('h2', { id: 'knowledge-add-title' }, 'Add a document'), fileForm, urlForm, addStatus),
    h('section', { 'aria-labelledby': 'knowledge-list-title' },
      h('h2', { id: 'knowledge-list-title' }, 'Documents'),
      listStatus,
      h('div', { class: 'table-wrap' }, h('table', { id: 'knowledge-documents', class: 'cards' },
        h('caption', { class: 'sr' }, 'Documents'),
        h('thead', {}, h('tr', {}, ['Title', 'Source', 'Size', 'Passages', 'Status', 'Updated', ''].map(
          (t, i) => h('th', { scope: 'col' }, t || h('span', { class: 'sr' }, i === 6 ? 'Actions' : ''))))),
        tbody))),
    h('section', { 'aria-labelledby': 'knowledge-search-title', class: 'card' },
      h('h2', { id: 'knowledge-search-title' }, 'Try a search'), searchForm, results));

  async function load() {
    let res;
    try { res = await api.knowledge(); } catch (e) {
      listStatus.replaceChildren(notice('error', `Could not load the documents: ${e.message}`));
      return;
    }
    const docs = (res && res.documents) || [];
    listStatus.replaceChildren(docs.length ? '' : notice('ok', 'No documents yet: the bot answers from the page and its instructions only.'));
    tbody.replaceChildren(...docs.map((d) => documentRow(d, load)));
  }

  async function added(work, what) {
    addStatus.replaceChildren();
    try {
      const res = await work();
      const pages = Array.isArray(res.documents) ? res.documents.length : 1;
      const passages = `${number(res.chunks)} passage${res.chunks === 1 ? '' : 's'}`;
      const text = `${what} added: ${res.title} (${passages}${pages > 1 ? `, ${pages} pages` : ''}).`;
      addStatus.replaceChildren(notice('ok', text));
      announce(text);
      await load();
      return true;
    } catch (e) {
      const reason = e.body && e.body.error ? `${e.body.error}: ${e.body.detail || ''}` : e.message;
      addStatus.replaceChildren(notice('error', `Not added. ${reason}`));
      return false;
    }
  }

  fileForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const chosen = file.files && file.files[0];
    if (!chosen) { addStatus.replaceChildren(notice('error', 'Choose a file first.')); file.focus(); return; }
    busy(fileForm.querySelector('button'), async () => {
      if (await added(() => api.addKnowledgeFile(chosen), 'Document')) file.value = '';
    });
  });
  urlForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = url.value.trim();
    if (!/^https?:\/\//i.test(value)) { addStatus.replaceChildren(notice('error', 'Enter an http(s) URL.')); url.focus(); return; }
    busy(urlForm.querySelector('button'), async () => {
      if (await added(() => api.addKnowledgeUrl(value), 'URL')) url.value = '';
    });
  });
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = query.value.trim();
    if (!q) { query.focus(); return; }
    busy(searchForm.querySelector('button'), async () => {
      try {
        const res = await api.searchKnowledge(q, 5);
        const list = (res && res.results) || [];
        results.replaceChildren(...(list.length ? list.map(resultItem) : [h('li', {}, 'No passage matches.')]));
        announce(`${list.length} passages found.`);
      } catch (err) {
        results.replaceChildren(h('li', {}, notice('error', `Search failed: ${err.message}`)));
      }
    });
  });

  load();
  return null;
}

function documentRow(d, reload) {
  const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete ${d.title}` }, 'Delete');
  const out = h('span', { class: 'error', role: 'alert' });
  remove.addEventListener('click', () => {
    if (!window.confirm(`Delete "${d.title}"? The bot stops using it at once.`)) return;
    busy(remove, async () => {
      try {
        await api.deleteKnowledge(d.documentId);
        announce(`${d.title} deleted.`);
        await reload();
      } catch (e) {
        out.textContent = `Could not delete: ${e.message}`;
      }
    });
  });
  const source = d.url && /^https?:\/\//i.test(d.url)
    ? h('a', { href: d.url, target: '_blank', rel: 'noopener noreferrer' }, d.source)
    : d.source;
  return h('tr', { dataset: { documentId: d.documentId } },
    h('td', { 'data-label': 'Title' }, d.title),
    h('td', { 'data-label': 'Source' }, source),
    h('td', { 'data-label': 'Size' }, `${number(d.sizeBytes)} bytes`),
    h('td', { 'data-label': 'Passages' }, number(d.chunks)),
    h('td', { 'data-label': 'Status' }, d.status === 'ready' ? 'Ready' : d.status),
    h('td', { 'data-label': 'Updated' }, when(d.updatedAt)),
    h('td', {}, remove, out));
}

function resultItem(r) {
  const title = r.url && /^https?:\/\//i.test(r.url)
    ? h('a', { href: r.url, target: '_blank', rel: 'noopener noreferrer' }, r.title)
    : r.title;
  return h('li', { class: 'result' }, h('strong', {}, title), h('p', {}, r.text));
}
