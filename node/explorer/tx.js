// One entry: its envelope, outcome, place in the ledger, and whether its inclusion proof checks.

import { get, explain } from './api.js';
import { h, section, facts, note, docLink, badge, json, num } from './dom.js';
import { checkEntry, unavailableReason } from './proof.js';
import { setLiveState } from './panel.js';

export async function renderTx(ctx, id) {
  setLiveState('off on this view');
  ctx.view.append(h('h1', {}, 'Entry ', h('code', { class: 'break', text: id })));
  let tx;
  try {
    tx = await get('/v1/transactions/' + encodeURIComponent(id));
  } catch (e) {
    ctx.view.append(note(explain(e), 'error'));
    return () => {};
  }
  const t = tx.envelope.tx;
  ctx.view.append(section('What was signed', facts([
    ['Type', h('code', { text: t.type })],
    ['Document', docLink(t.doc)],
    ['Concerns', tx.documents.map((d) => [docLink(d), ' '])],
    ['Signed by', h('code', { text: t.signer })],
    ['Nonce', String(t.nonce)],
    ['Time claimed by the signer', t.ts],
    ['Outcome', [badge(tx.status), tx.reason ? [' ', h('code', { text: tx.reason }), ' — ', tx.message || ''] : '']],
    ['Block', [num(tx.height), ', position ', String(tx.index)]],
  ]), h('h3', { text: 'Body' }), json(t.body)));
  const proofSec = section('Inclusion proof', note('Checking…'));
  ctx.view.append(proofSec);
  const why = unavailableReason(ctx.who.hash);
  if (why) {
    proofSec.lastChild.replaceWith(note('Not checked in this page: ' + why + '.'));
  } else {
    try {
      const r = await checkEntry(id);
      proofSec.lastChild.replaceWith(h('p', { class: 'proof ' + r.state },
        badge(r.state === 'ok' ? 'ok' : r.state === 'bad' ? 'failed' : 'pending',
          r.state === 'ok' ? 'checks' : r.state === 'bad' ? 'does not check' : 'not in the log'), ' ', r.text));
      if (tx.proof) {
        proofSec.append(facts([
          ['Log index', String(tx.proof.log_index)], ['Tree size', String(tx.proof.tree_size)],
          ['Certified head', `height ${tx.proof.head.height}, header ${tx.proof.head.header_hash}`],
          ['Log root', tx.proof.head.log_root],
          ['Attested by', tx.proof.head.attestations.map((a) => a.node).join(', ')],
          ['Audit path', h('ol', { class: 'hashes' }, tx.proof.path.map((p) => h('li', {}, h('code', { text: p }))))],
        ]));
      }
    } catch (e) {
      proofSec.lastChild.replaceWith(note(explain(e), 'error'));
    }
  }
  return () => {};
}
