// The tenant API as the console calls it. The secret key lives in
// sessionStorage only (this tab, until sign-out or the tab closes); it is
// sent in the X-API-Key header, never in a URL, and never logged.

const KEY_SLOT = 'chat-console.key';

function meta(name) {
  const el = document.querySelector(`meta[name="${name}"]`);
  return (el && el.content.trim()) || '';
}

/** The API's base URL without a trailing slash; '' is this page's origin. */
export const API_BASE = meta('api-base').replace(/\/+$/, '');

/** Where the widget's files are (chatbot.js, frame.html), ending in '/':
 * beside the console unless the deployment says otherwise. */
export const WIDGET_BASE = (meta('widget-base') || `${location.origin}/widget/`).replace(/\/*$/, '/');

export function signedIn() {
  return Boolean(readKey());
}

function readKey() {
  try { return sessionStorage.getItem(KEY_SLOT); } catch { return null; }
}

/** Whether the signed-in key starts with `prefix` (the Keys page marks it). */
export function signedInWith(prefix) {
  const key = readKey();
  return Boolean(prefix && key && key.startsWith(prefix));
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_SLOT, key);
}

/** Forgets the key, and whatever else this tab kept for the console (the
 * preview widget's conversation). */
export function forgetKey() {
  try { sessionStorage.clear(); } catch { /* storage blocked: nothing kept */ }
}

/** An answer other than 2xx: `status` and the JSON error body. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.error)) || `The server answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Called when the key stops working (revoked, or not a secret key). */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

async function send(method, path, { body, query, key } = {}) {
  const url = new URL(`${API_BASE}${path}`, location.href);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { 'X-API-Key': key || readKey() || '' };
  // A FormData body sets its own multipart type and boundary.
  const form = typeof FormData !== 'undefined' && body instanceof FormData;
  if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {
      method, headers, body: body === undefined || form ? body : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(0, { error: 'The API cannot be reached. Check your connection and try again.' });
  }
  if (res.status === 401 && !key) onUnauthorized();
  return res;
}

async function json(method, path, options) {
  const res = await send(method, path, options);
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

export const api = {
  /** Checks a key before keeping it: the tenant it belongs to. */
  tenantWith: (key) => json('GET', '/api/tenant', { key }),
  tenant: () => json('GET', '/api/tenant'),
  patchSettings: (patch) => json('PATCH', '/api/tenant/settings', { body: patch }),
  keys: () => json('GET', '/api/tenant/keys'),
  createKey: (kind, label) => json('POST', '/api/tenant/keys', { body: { kind, label } }),
  revokeKey: (keyId) => json('DELETE', `/api/tenant/keys/${encodeURIComponent(keyId)}`),
  widgetCode: () => json('GET', '/api/tenant/widget-code'),
  sessions: (query) => json('GET', '/api/tenant/sessions', { query }),
  session: (id) => json('GET', `/api/tenant/sessions/${encodeURIComponent(id)}`),
  deleteSession: (id) => json('DELETE', `/api/tenant/sessions/${encodeURIComponent(id)}`),
  analytics: (days) => json('GET', '/api/tenant/analytics', { query: { days } }),
  knowledge: () => json('GET', '/api/tenant/knowledge'),
  addKnowledgeFile(file) {
    const body = new FormData();
    body.append('file', file, file.name);
    return json('POST', '/api/tenant/knowledge', { body });
  },
  addKnowledgeUrl: (url) => json('POST', '/api/tenant/knowledge', { body: { url } }),
  deleteKnowledge: (id) => json('DELETE', `/api/tenant/knowledge/${encodeURIComponent(id)}`),
  searchKnowledge: (query, k) => json('POST', '/api/tenant/knowledge/search', { body: { query, k } }),
  providers: () => json('GET', '/api/chat/providers'),
  botConfig: () => json('GET', '/api/chat/sessions/bot-config'),
  /** The export as a Blob (it needs the key header, so no plain link). */
  async exportBlob(format) {
    const res = await send('GET', '/api/tenant/export', { query: { format } });
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch { body = null; }
      throw new ApiError(res.status, body);
    }
    return res.blob();
  },
};
