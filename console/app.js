// The console's shell: sign-in, navigation between pages (the URL fragment
// names the page; it never carries a key), sign-out.
import { api, signedIn, storeKey, forgetKey, whenUnauthorized } from './api.js';
import { announce } from './ui.js';
import { overview } from './pages/overview.js';
import { conversations } from './pages/conversations.js';
import { settings } from './pages/settings.js';
import { keys } from './pages/keys.js';
import { knowledge } from './pages/knowledge.js';

const PAGES = { overview, conversations, settings, knowledge, keys };
const TITLES = { overview: 'Overview', conversations: 'Conversations', settings: 'Settings', knowledge: 'Knowledge', keys: 'Keys' };

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOutButton = document.getElementById('sign-out');
const who = document.getElementById('who');

/** The page being shown, so it can stop its timers and observers. */
let current = null;
let firstRender = true;

function route() {
  const [page = 'overview', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { page: PAGES[page] ? page : 'overview', rest: rest.map(decodeURIComponent) };
}

async function render() {
  if (current && current.leave) current.leave();
  current = null;
  main.replaceChildren();
  if (!signedIn()) { showSignIn(); return; }
  nav.hidden = false;
  signOutButton.hidden = false;
  const { page, rest } = route();
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${TITLES[page]} – Chat console`;
  current = PAGES[page](main, rest) || null;
  // Keyboard and screen-reader users land on the new page, not the old link.
  if (!firstRender) main.focus({ preventScroll: false });
  firstRender = false;
}

function showSignIn(message) {
  nav.hidden = true;
  signOutButton.hidden = true;
  who.textContent = '';
  document.title = 'Sign in – Chat console';
  main.replaceChildren(document.getElementById('sign-in-page').content.cloneNode(true));
  const form = document.getElementById('sign-in-form');
  const input = document.getElementById('sign-in-key');
  const error = document.getElementById('sign-in-error');
  const fail = (text) => {
    error.textContent = text;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  if (message) fail(message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    if (!key.startsWith('cb_')) {
      fail('Use a secret key: it starts with cb_ (publishable pk_ keys cannot sign in).');
      return;
    }
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const tenant = await api.tenantWith(key);
      storeKey(key);
      input.value = '';
      showTenant(tenant);
      announce(`Signed in as ${tenant.name || 'your tenant'}.`);
      if (!location.hash) location.hash = '#/overview';
      await render();
    } catch (e) {
      fail(e.status === 401 || e.status === 403
        ? 'This key was not accepted: check that it is a current secret key.'
        : e.message);
    } finally {
      button.disabled = false;
    }
  });
}

function showTenant(tenant) {
  who.textContent = tenant && tenant.name ? tenant.name : '';
}

function signOut(message) {
  forgetKey();
  if (current && current.leave) current.leave();
  current = null;
  history.replaceState(null, '', location.pathname);
  showSignIn(message);
  announce(message || 'Signed out.');
  document.getElementById('sign-in-key').focus();
}

signOutButton.addEventListener('click', () => signOut());
whenUnauthorized(() => signOut('Your key no longer works (revoked?). Sign in with a current secret key.'));
window.addEventListener('hashchange', render);

render();
if (signedIn()) api.tenant().then(showTenant, () => {});
