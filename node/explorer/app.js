// The explorer page: sign-in with a token, a hash router (#/, #/list, #/doc/ID, #/tx/ID, #/network), the live
// log, and the banner for a node that is not ready. Views live in their own modules; each returns a cleanup
// function that stops what it started (live streams, timers) when the page moves on.

import { get, token, whenUnauthorized, explain } from './api.js';
import { h, clear } from './dom.js';
import { renderHome } from './home.js';
import { renderList } from './list.js';
import { renderDocument } from './document.js';
import { renderTx } from './tx.js';
import { renderNetwork } from './network.js';

const $ = (id) => document.getElementById(id);
const session = { who: null, status: null };
let cleanup = () => {};

function showBanner(text) {
  const b = $('banner');
  b.textContent = text || '';
  b.hidden = !text;
}

function showLogin(message) {
  cleanup();
  cleanup = () => {};
  session.who = null;
  $('who').hidden = true;
  clear($('view'));
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').value = '';
  $('token').focus();
}

async function signIn(t) {
  token.set(t);
  try {
    session.who = await get('/v1/whoami');
  } catch (e) {
    token.clear();
    showLogin(explain(e));
    return false;
  }
  $('login').hidden = true;
  $('who').hidden = false;
  const w = session.who;
  $('who-org').textContent = `${w.org_name || w.org} (${w.org})`;
  $('who-org').title = `token "${w.token}", scopes: ${w.scopes.join(', ') || 'none'}; roles: ${w.roles.join(', ')}`;
  return true;
}

async function checkReady() {
  try {
    const r = await fetch('/readyz', { cache: 'no-store' });
    if (r.ok) {
      showBanner('');
      return;
    }
    const p = await r.json().catch(() => ({}));
    showBanner(`This node is not ready (${p.detail || 'HTTP ' + r.status}): what it shows may be behind the ` +
      'network, and it cannot take entries. It recovers by itself once it has a leader and has caught up.');
  } catch {
    showBanner('This node does not answer. It may be stopped or restarting; reload the page in a moment.');
  }
}

async function route() {
  cleanup();
  cleanup = () => {};
  if (!token.get() || !session.who) return;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const view = clear($('view'));
  clear($('live-log'));
  for (const a of document.querySelectorAll('[data-nav]')) {
    const current = (parts[0] || 'home') === a.dataset.nav;
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const ctx = { who: session.who, status: session.status, view, params };
  checkReady();
  let stop;
  if (parts[0] === 'doc' && parts[1]) stop = await renderDocument(ctx, parts[1]);
  else if (parts[0] === 'tx' && parts[1]) stop = await renderTx(ctx, parts[1]);
  else if (parts[0] === 'list') stop = await renderList(ctx);
  else if (parts[0] === 'network') stop = await renderNetwork(ctx);
  else stop = await renderHome(ctx);
  cleanup = typeof stop === 'function' ? stop : () => {};
  const heading = view.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

async function boot() {
  try {
    session.status = await (await fetch('/v1/status', { cache: 'no-store' })).json();
    $('node-id').textContent = `node ${session.status.node} · ${session.status.network}`;
    document.title = `onebill explorer · ${session.status.node}`;
  } catch {
    $('node-id').textContent = 'node not answering';
  }
  whenUnauthorized(() => {
    token.clear();
    showLogin('This node no longer accepts your token (it was revoked, has expired or was replaced). ' +
      'Enter a valid token.');
  });
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!t) return;
    $('login-error').textContent = 'Checking the token…';
    if (await signIn(t)) route();
  });
  $('sign-out').addEventListener('click', () => {
    token.clear();
    showLogin('The token is forgotten in this tab.');
  });
  window.addEventListener('hashchange', route);
  checkReady();
  const t = token.get();
  if (t && (await signIn(t))) route();
  else if (!t) showLogin('');
}

boot();
