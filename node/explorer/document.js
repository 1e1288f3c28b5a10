// One document (GET /v1/documents/{id}) with its history (…/history) and, for each accepted entry, whether its
// inclusion proof checks against the certified head. Bills are drawn by bill.js; receipts, pledges and proposals
// here. Follows the document's events live and redraws in place when an entry concerns it.

import { get, request, explain, ApiError } from './api.js';
import { h, append, clear, section, facts, note, table, place, org, docLink, txLink, badge, money, kg, num, json } from './dom.js';
import { billSections } from './bill.js';
import { checkEntry, unavailableReason } from './proof.js';
import { LiveStream } from './live.js';
import { logLive, setLiveState } from './panel.js';

async function history(id) {
  const items = [];
  let after = null;
  for (let page = 0; page < 20; page++) {  // bounded: 20 pages of 500 entries
    const q = new URLSearchParams({ limit: '500' });
    if (after) q.set('after', after);
    const r = await get(`/v1/documents/${encodeURIComponent(id)}/history?${q}`);
    items.push(...r.items);
    if (!r.next || r.items.length === 0) break;
    after = r.next;
  }
  return items;
}

function customsTable(decisions) {
  if (decisions.length === 0) return note('No customs decision yet.');
  return table(['#', 'Procedure', 'Decision', 'Declaration', 'Containers', 'By', 'Block'], decisions.map((c) =>
    h('tr', {}, h('td', { text: String(c.n) }), h('td', { text: c.procedure }), h('td', {}, badge(c.decision)),
      h('td', {}, h('code', { text: c.declaration })),
      h('td', { text: c.equipment && c.equipment.length ? c.equipment.join(', ') : 'whole document' }),
      h('td', {}, org(c.by)), h('td', {}, num(c.height), ' ', txLink(c.tx)))));
}

function endorsementChain(doc) {
  const chain = doc.endorsements;
  if (chain.length === 0) return note(`No endorsement: held by ${doc.holder} since issue.`);
  return h('ol', { class: 'chain' },
    h('li', {}, org(chain[0].from), h('span', { class: 'muted', text: ' first holder' })),
    chain.map((e) => h('li', {}, org(e.to), h('span', { class: 'muted' },
      ` ${e.via === 'endorse' ? 'endorsed by ' + e.from : 'by ' + e.via} in block `, num(e.height), ' '), txLink(e.tx))),
    doc.delivered_to ? h('li', {}, h('strong', { text: 'Delivered' }), ' to ', org(doc.delivered_to)) : null);
}

// Each pledge ever made on a collateral, read one by one (a pledge may not be readable by every organisation).
function pledgesOf(doc) {
  const box = h('div', { class: 'pledges' });
  const ids = [...new Set([...(doc.pledges || []), ...(doc.pledge ? [doc.pledge] : [])])];
  if (ids.length === 0) {
    box.append(note('Never pledged.'));
    return box;
  }
  for (const id of ids) {
    const card = h('article', { class: 'pledge' + (id === doc.pledge ? ' active' : '') },
      h('h3', {}, docLink(id)), note('Loading…'));
    box.append(card);
    get('/v1/documents/' + encodeURIComponent(id)).then((p) => {
      card.lastChild.replaceWith(facts([
        ['Status', badge(p.status)],
        ['Bank', org(p.bank)], ['Pledgor', org(p.pledgor)], ['Amount', money(p.amount)], ['Due', p.due],
        ['Customs approval', p.approvals.length ? p.approvals.map((a) =>
          [org(a.by), a.approve ? ' approved ' : ' refused ', h('code', { text: a.reference }), ` (block ${a.height}) `])
          : 'none'],
        ['Active', p.activated ? `from block ${p.activated}${p.closed ? ' to block ' + p.closed : ''}` : 'never'],
      ]));
    }).catch((e) => card.lastChild.replaceWith(note(explain(e), 'muted')));
  }
  return box;
}

function receiptSections(r) {
  const g = r.goods;
  return [
    section('Goods', facts([
      ['Description', g.description], ['HS code', h('code', { text: g.hs })],
      ['Remaining', h('span', {}, h('strong', { text: `${num(g.remaining).textContent} of ${num(g.quantity).textContent} ${g.unit}` }),
        ' ', h('meter', { min: '0', max: String(g.quantity), value: String(g.remaining), 'aria-label': 'remaining quantity' }))],
      ['Gross weight', kg(g.gross_kg)],
      ['Bonded', r.bonded ? badge('pending', 'bonded — under customs control') : badge('ok', 'not bonded (import released)')],
      ['Location', place(r.location)], ['Lot', h('code', { text: r.lot })],
      ['Source bill', r.source_bill ? docLink(r.source_bill) : 'none'],
      ['Lock', r.locked ? [badge('bad', 'locked'), ' by pledge ', docLink(r.pledge)] : 'not pledged'],
    ])),
    section('Pledges', pledgesOf(r)),
    section('Withdrawals', r.withdrawals.length === 0 ? note('None.') : table(['#', 'Quantity', 'Asked by', 'Block', 'Status'],
      r.withdrawals.map((w) => h('tr', {}, h('td', { text: String(w.n) }), h('td', {}, num(w.quantity), ' ', g.unit),
        h('td', {}, org(w.by)), h('td', {}, num(w.height)),
        h('td', {}, badge(w.status), w.released ? ` in block ${w.released}` : ''))))),
    section('Customs decisions', customsTable(r.customs)),
    section('Endorsement chain', endorsementChain(r)),
  ];
}

function pledgeSections(p) {
  const collateral = h('div', {}, note('Loading the collateral…'));
  get('/v1/documents/' + encodeURIComponent(p.collateral)).then((c) => {
    collateral.replaceChildren(facts([
      ['Document', [docLink(c.id), ` (${c.kind})`]], ['Status', badge(c.status)], ['Holder', org(c.holder)],
      ['Locked by this pledge', c.pledge === p.id ? 'yes' : 'no'],
      c.kind === 'receipt' ? ['Goods', `${c.goods.description}: ${c.goods.remaining} of ${c.goods.quantity} ${c.goods.unit}`
        + (c.bonded ? ', bonded' : '')] : null,
      c.kind === 'bill' ? ['Route', [place(c.place_of_receipt), ' → ', place(c.place_of_delivery)]] : null,
      c.kind === 'bill' ? ['Declared value', money(c.declared_value)] : null,
    ]));
  }).catch((e) => collateral.replaceChildren(note(explain(e) + (e.code === 'forbidden'
    ? ' A bank sees its pledge, but the collateral only if it is involved in it too.' : ''), 'muted')));
  return [
    section('Pledge', facts([
      ['Collateral', [docLink(p.collateral), ` (${p.collateral_kind})`]], ['Bank', org(p.bank)],
      ['Pledgor', org(p.pledgor)], ['Amount', money(p.amount)], ['Due', p.due],
      ['Active', p.activated ? `from block ${p.activated}${p.closed ? ' to block ' + p.closed : ''}` : 'not active'],
      p.note ? ['Bank note', p.note] : null,
    ])),
    section('Collateral', collateral),
    section('Customs approvals', p.approvals.length === 0 ? note('None.') : table(['By', 'Decision', 'Reference', 'Block'],
      p.approvals.map((a) => h('tr', {}, h('td', {}, org(a.by)), h('td', {}, badge(a.approve ? 'approved' : 'declined')),
        h('td', {}, h('code', { text: a.reference })), h('td', {}, num(a.height)))))),
  ];
}

function proposalSections(p) {
  return [section('Proposal', facts([
    ['Action', h('code', { text: p.action })], ['Parameters', json(p.params)],
    ['Approvals', p.approvals.map((a) => `${a.org} (block ${a.height})`).join(', ') || 'none'],
    ['Executed', p.executed ? `in block ${p.executed}` : 'no'], p.failure ? ['Failure', p.failure] : null,
  ]))];
}

function billSummary(b) {
  return section('Bill', facts([
    ['Type', `${b.document_type === 'BOL' ? 'Bill of lading' : 'Sea waybill'}${b.to_order ? ', to order' : ''}`],
    ['Shipper', org(b.parties.shipper)], ['Consignee', b.parties.consignee ? org(b.parties.consignee) : 'to order'],
    ['Notify', b.parties.notify.join(', ') || '—'],
    ['Route', [place(b.place_of_receipt), ' → ', place(b.place_of_delivery)]],
    ['Declared value', money(b.declared_value)],
    ['Lock', b.pledge ? [badge('bad', 'locked'), ' by pledge ', docLink(b.pledge)] : 'not pledged'],
    b.void_reason ? ['Void reason', b.void_reason] : null,
  ]));
}

// The entries table; proofs are checked a few at a time once it is drawn.
function historyView(items, hashAlg) {
  const why = unavailableReason(hashAlg);
  const summary = h('p', { class: 'proof-summary', 'aria-live': 'polite' });
  const cells = new Map();
  const rows = items.map((it) => {
    const cell = h('td', { class: 'proof' }, it.status === 'accepted' ? h('span', { class: 'muted', text: why ? 'not checked' : 'checking…' })
      : h('span', { class: 'muted', text: 'not in the log (rejected)' }));
    if (it.status === 'accepted') cells.set(it.id, cell);
    return h('tr', { class: it.status, 'data-tx': it.id },
      h('td', {}, num(it.height), '.', String(it.index)), h('td', {}, h('code', { text: it.type })),
      h('td', {}, h('code', { text: it.signer })), h('td', {}, it.doc === items[0].doc ? '' : docLink(it.doc)),
      h('td', {}, badge(it.status, it.status === 'rejected' ? 'rejected: ' + it.reason : 'accepted')),
      h('td', {}, txLink(it.id)), cell);
  });
  const run = async () => {
    if (why) {
      summary.textContent = 'Inclusion proofs are not checked in this page: ' + why + '.';
      return;
    }
    const ids = [...cells.keys()];
    const tally = { ok: 0, bad: 0, waiting: 0 };
    let head = null;
    const worker = async () => {
      while (ids.length) {
        const id = ids.shift();
        const cell = cells.get(id);
        try {
          const r = await checkEntry(id);
          tally[r.state] = (tally[r.state] || 0) + 1;
          if (r.tx.proof) head = r.tx.proof.head;
          cell.replaceChildren(badge(r.state === 'ok' ? 'ok' : r.state === 'bad' ? 'failed' : 'pending',
            r.state === 'ok' ? 'checks' : r.state === 'bad' ? 'does not check' : 'not yet'));
          cell.title = r.text;
        } catch (e) {
          tally.waiting++;
          cell.replaceChildren(h('span', { class: 'muted', text: explain(e) }));
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    summary.replaceChildren(badge(tally.bad ? 'failed' : tally.waiting ? 'pending' : 'ok',
      tally.bad ? 'proof failure' : tally.waiting ? 'partly checked' : 'all proofs check'),
    ` ${tally.ok} of ${cells.size} accepted entries are in the certified transparency log` +
      (head ? ` (head at height ${head.height}, log size ${head.log_size}, attested by ` +
        `${head.attestations.map((a) => a.node).join(', ')}; its block header was checked too)` : '') +
      (tally.waiting ? `; ${tally.waiting} newer than the certified head` : '') +
      (tally.bad ? `; ${tally.bad} DO NOT CHECK` : '') + '. Checked in this page with the browser\'s SHA-256.');
  };
  return {
    node: section('Entries and inclusion proofs', summary,
      table(['Block.pos', 'Type', 'Signed with key', 'Via', 'Outcome', 'Entry', 'Inclusion proof'], rows, { class: 'history' })),
    run,
  };
}

function bundleBox(id) {
  const msg = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const button = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      msg.textContent = 'Asking the node for the bundle…';
      try {
        const res = await request(`/v1/documents/${encodeURIComponent(id)}/bundle`);
        const blob = await res.blob();
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: `${id}.bundle.json` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        msg.textContent = `Saved ${id}.bundle.json (${blob.size.toLocaleString('en')} bytes). Check it offline with ` +
          '`onebill verify`.';
      } catch (e) {
        msg.textContent = e instanceof ApiError && e.code === 'not_found'
          ? 'This node does not serve audit bundles yet (this build answers 404). Use another node, or ask its ' +
            'operator to upgrade.'
          : explain(e);
      }
    },
  }, 'Download audit bundle');
  return h('div', { class: 'bundle' }, button, msg);
}

async function load(ctx, id, body, isNew) {
  const [doc, items] = await Promise.all([get('/v1/documents/' + encodeURIComponent(id)), history(id)]);
  const signers = new Map(items.map((it) => [it.id, it.signer]));
  let sections = [];
  let open = [];
  if (doc.kind === 'bill') ({ sections, open } = billSections(doc, signers));
  else if (doc.kind === 'receipt') sections = receiptSections(doc);
  else if (doc.kind === 'pledge') sections = pledgeSections(doc);
  else if (doc.kind === 'proposal') sections = proposalSections(doc);
  const hist = historyView(items, ctx.who.hash);
  const scroll = window.scrollY;
  append(clear(body),
    h('div', { class: 'doc-head' },
      h('p', { class: 'kind', text: doc.kind }),
      badge(doc.status),
      doc.pledge ? badge('bad', 'pledged') : null,
      open.length ? h('a', { class: 'badge bad', href: '#discrepancy-' + open[0].n },
        `${open.length} open discrepanc${open.length === 1 ? 'y' : 'ies'}`) : null),
    open.length ? h('div', { class: 'alert', role: 'alert' }, h('strong', { text: 'Open discrepancy. ' }),
      open.map((d) => `${d.code} on leg ${d.leg + 1}, reported by ${d.by}: ${d.detail}`).join('; '), '.') : null,
    section('Document', facts([
      ['Issuer', org(doc.issuer)], ['Holder', org(doc.holder)], ['Version', String(doc.version)],
      ['Created', ['block ', num(doc.created)]], ['Last change', ['block ', num(doc.height), ' ', txLink(doc.head)]],
    ]), bundleBox(doc.id)),
    doc.kind === 'bill' ? billSummary(doc) : null,
    sections,
    doc.kind === 'bill' ? [section('Customs decisions', customsTable(doc.customs)),
      section('Endorsement chain', endorsementChain(doc)), section('Pledges', pledgesOf(doc)),
      section('Surrenders', doc.surrenders.length === 0 ? note('None.') : table(['For', 'Reason', 'By', 'Block', 'Status', 'Note'],
        doc.surrenders.map((s) => h('tr', {}, h('td', { text: s.for }), h('td', { text: s.reason || '' }),
          h('td', {}, org(s.by)), h('td', {}, num(s.height)), h('td', {}, badge(s.status)), h('td', { text: s.note || '' })))))] : null,
    hist.node);
  for (const tx of isNew) body.querySelectorAll(`[data-tx="${tx}"]`).forEach((el) => el.classList.add('new'));
  if (isNew.size) window.scrollTo(0, scroll);
  hist.run();
  const last = items.reduce((m, it) => Math.max(m, it.height), doc.height);
  return { doc, last };
}

export async function renderDocument(ctx, id) {
  const body = h('div', { class: 'document' });
  ctx.view.append(h('h1', {}, h('code', { text: id })), body);
  let first;
  try {
    first = await load(ctx, id, body, new Set());
  } catch (e) {
    append(clear(body), h('p', { class: 'error', role: 'alert', text: explain(e) }),
      h('p', {}, h('a', { href: '#/', text: 'Find another document' })));
    setLiveState('off');
    return () => {};
  }
  // Follow the document: replay from just after what was drawn, so nothing between the read and the
  // subscription is missed; redraw (debounced) when an entry concerns it.
  const fresh = new Set();
  let timer = null;
  const stream = new LiveStream({ doc: id }, first.last + 1, (e) => {
    logLive(e, '#/tx/' + encodeURIComponent(e.id));
    fresh.add(e.id);
    clearTimeout(timer);
    timer = setTimeout(() => load(ctx, id, body, new Set(fresh)).catch(() => {}), 250);
  }, (state, err) => setLiveState(state === 'refused' ? explain(err)
    : state === 'live' ? `following ${id}` : state)).start();
  return () => {
    stream.stop();
    clearTimeout(timer);
  };
}
