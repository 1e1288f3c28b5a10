// The start view: who the token speaks for, find a document by id, list documents, and — for customs and
// auditors, who may follow everything — the network's latest entries, live.

import { get, explain } from './api.js';
import { h, section, facts, note, table, docLink, badge, num } from './dom.js';
import { LiveStream } from './live.js';
import { logLive, setLiveState } from './panel.js';

export const DOC_STATUSES = {
  bill: ['issued', 'in_transit', 'arrived', 'pending_surrender_for_delivery', 'surrendered_for_delivery',
    'accomplished', 'pending_surrender_for_amendment', 'surrendered_for_amendment', 'switched_to_paper', 'voided'],
  receipt: ['live', 'closed'],
  pledge: ['requested', 'approved', 'active', 'released', 'enforced', 'declined', 'cancelled'],
  proposal: ['open', 'executed', 'failed'],
};

export function listForm(params = new URLSearchParams()) {
  const type = h('select', { id: 'list-type', name: 'type' },
    h('option', { value: '', text: 'any kind' }),
    Object.keys(DOC_STATUSES).map((k) => h('option', { value: k, text: k })));
  type.value = params.get('type') || '';
  const statuses = [...new Set(Object.values(DOC_STATUSES).flat())];
  const status = h('select', { id: 'list-status', name: 'status' },
    h('option', { value: '', text: 'any status' }),
    statuses.map((s) => h('option', { value: s, text: s.replaceAll('_', ' ') })));
  status.value = params.get('status') || '';
  const holder = h('input', { id: 'list-holder', name: 'holder', type: 'text', spellcheck: 'false',
    placeholder: 'organisation id', value: params.get('holder') || '' });
  return h('form', {
    class: 'inline-form', 'aria-label': 'List documents',
    onsubmit: (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      if (type.value) q.set('type', type.value);
      if (status.value) q.set('status', status.value);
      if (holder.value.trim()) q.set('holder', holder.value.trim());
      location.hash = '#/list' + (q.toString() ? '?' + q : '');
    },
  },
  h('label', { for: 'list-type', text: 'Kind' }), type,
  h('label', { for: 'list-status', text: 'Status' }), status,
  h('label', { for: 'list-holder', text: 'Holder' }), holder,
  h('button', { type: 'submit', text: 'List' }));
}

export function findForm() {
  const input = h('input', { id: 'find-id', name: 'id', type: 'search', spellcheck: 'false', required: true,
    placeholder: 'e.g. OB-2026-000001, WR-…, PL-…', 'aria-describedby': 'find-help' });
  return h('form', {
    class: 'inline-form find', role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      const id = input.value.trim();
      if (id) location.hash = '#/doc/' + encodeURIComponent(id);
    },
  },
  h('label', { for: 'find-id', text: 'Document id' }), input, h('button', { type: 'submit', text: 'Open' }),
  h('p', { id: 'find-help', class: 'muted small', text: 'A bill, warehouse receipt, pledge or proposal id.' }));
}

export async function renderHome(ctx) {
  const w = ctx.who;
  ctx.view.append(
    h('h1', { text: 'Find a document' }),
    section('Open by id', findForm()),
    section('List documents', listForm()),
    section('Your organisation', facts([
      ['Organisation', `${w.org_name || w.org} (${w.org})`],
      ['Roles', w.roles.join(', ') || '—'],
      ['Token', `"${w.token}" — scopes ${w.scopes.join(', ') || 'none'}`],
      ['Reads', w.reads_everything ? 'every document (customs or auditor)'
        : 'the documents your organisation is involved in (docs/api.md §9)'],
      ['Node', `${w.node} on network ${w.network} (hash ${w.hash})`],
    ])));
  if (!w.reads_everything) {
    const held = section(`Documents held by ${w.org}`, note('Loading…'));
    ctx.view.append(held);
    try {
      const page = await get('/v1/documents?limit=20&holder=' + encodeURIComponent(w.org));
      held.lastChild.remove();
      held.append(page.items.length === 0 ? note('None.') : table(['Document', 'Kind', 'Status', 'Issuer', 'Block'],
        page.items.map((d) => h('tr', {}, h('td', {}, docLink(d.id)), h('td', { text: d.kind }),
          h('td', {}, badge(d.status)), h('td', { text: d.issuer }), h('td', {}, num(d.height))))));
    } catch (e) {
      held.lastChild.replaceWith(note(explain(e), 'error'));
    }
    setLiveState('open a document to follow it');
    return () => {};
  }
  // Customs and auditors follow every entry: the latest ones (from 20 blocks back), then live.
  const rows = h('tbody');
  ctx.view.append(section('Latest entries on the network',
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Block', 'Type', 'Document', 'Signed by', 'Outcome']
        .map((t) => h('th', { scope: 'col', text: t })))), rows))));
  const from = Math.max(1, ((ctx.status && ctx.status.height) || 0) - 20);
  let live = false;  // the replayed entries go to the table only; live ones to the side log too
  const stream = new LiveStream({}, from, (e) => {
    rows.prepend(h('tr', {}, h('td', {}, num(e.height)), h('td', { text: e.type }), h('td', {}, docLink(e.doc)),
      h('td', { text: e.signer }), h('td', {}, badge(e.status, e.reason ? 'rejected: ' + e.reason : e.status))));
    while (rows.children.length > 50) rows.lastChild.remove();
    if (live) logLive(e, '#/doc/' + encodeURIComponent(e.doc));
  }, (state, err) => {
    live = state === 'live';
    setLiveState(state === 'refused' ? explain(err) : state === 'live' ? 'following every entry' : state);
  }).start();
  return () => stream.stop();
}
