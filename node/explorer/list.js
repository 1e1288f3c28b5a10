// Documents listed by kind, status and holder (GET /v1/documents), page by page.

import { get, explain } from './api.js';
import { h, section, note, docLink, badge, num } from './dom.js';
import { listForm } from './home.js';
import { setLiveState } from './panel.js';

export async function renderList(ctx) {
  setLiveState('open a document to follow it');
  const filters = new URLSearchParams();
  for (const k of ['type', 'status', 'holder']) if (ctx.params.get(k)) filters.set(k, ctx.params.get(k));
  const described = [...filters].map(([k, v]) => `${k} ${v}`).join(', ') || 'all you may read';
  const rows = h('tbody');
  const more = h('button', { type: 'button', text: 'More', hidden: true });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  ctx.view.append(h('h1', { text: 'Documents' }), section('Filter', listForm(ctx.params)),
    section('Documents: ' + described, h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Document', 'Kind', 'Status', 'Holder', 'Issuer', 'Last change (block)']
        .map((t) => h('th', { scope: 'col', text: t })))), rows)), status, more));
  let after = null;
  let shown = 0;
  const load = async () => {
    more.hidden = true;
    status.textContent = 'Loading…';
    const q = new URLSearchParams(filters);
    q.set('limit', '50');
    if (after) q.set('after', after);
    try {
      const page = await get('/v1/documents?' + q);
      for (const d of page.items) {
        rows.append(h('tr', {}, h('td', {}, docLink(d.id)), h('td', { text: d.kind }), h('td', {}, badge(d.status)),
          h('td', { text: d.holder }), h('td', { text: d.issuer }), h('td', {}, num(d.height))));
      }
      shown += page.items.length;
      after = page.next || null;
      more.hidden = !after;
      status.textContent = `${shown} document${shown === 1 ? '' : 's'}${after ? ' so far' : ''}.`;
    } catch (e) {
      status.replaceWith(note(explain(e), 'error'));
    }
  };
  more.addEventListener('click', load);
  await load();
  return () => {};
}
