// The network as this node sees it: its Raft state (GET /v1/status, no token), its peers, the latest certified
// head (GET /v1/log/head) checked against its block header, and each voter's latest attested height — the
// attestations of the last blocks (GET /v1/blocks/{h}) tell how far every voting node has applied. Refreshed
// every 5 seconds while the view is open.

import { get, explain } from './api.js';
import { h, append, clear, section, facts, note, table, badge, num } from './dom.js';
import { checkHead, unavailableReason } from './proof.js';
import { setLiveState } from './panel.js';

const RECENT_BLOCKS = 8;

async function attestedHeights(height) {
  const seen = new Map();
  for (let hgt = height; hgt >= 1 && hgt > height - RECENT_BLOCKS; hgt--) {
    const block = await get('/v1/blocks/' + hgt);
    for (const a of block.attestations) if (!seen.has(a.node)) seen.set(a.node, a.height);
  }
  return seen;
}

async function draw(ctx, body) {
  const status = await (await fetch('/v1/status', { cache: 'no-store' })).json();
  let head = null;
  let headErr = null;
  try {
    head = await get('/v1/log/head');
  } catch (e) {
    headErr = e;
  }
  const attested = status.height > 0 ? await attestedHeights(status.height) : new Map();
  const nodes = [{ node: status.node, address: 'this node', connected: true, self: true }, ...status.peers];
  const rows = nodes.map((p) => {
    const role = p.self ? status.role : p.node === status.leader ? 'leader' : '—';
    const at = attested.get(p.node);
    const behind = at === undefined ? null : status.height - at;
    return h('tr', { class: p.node === status.leader ? 'leader' : '' },
      h('th', { scope: 'row' }, h('code', { text: p.node }), p.self ? ' (serving this page)' : ''),
      h('td', {}, role === 'leader' ? badge('active', 'leader') : role),
      h('td', { text: p.address }),
      h('td', {}, p.self ? '—' : badge(p.connected ? 'ok' : 'failed', p.connected ? 'connected' : 'not connected')),
      h('td', {}, p.match !== undefined ? [num(p.match), ' (lag ', num(p.lag), ')'] : '—'),
      h('td', {}, p.self ? num(status.height) : at !== undefined ? num(at) : h('span', { class: 'muted', text: 'no recent attestation' })),
      h('td', {}, behind === null ? '—' : behind === 0 ? badge('ok', 'up to date') : badge('pending', behind + ' behind')));
  });
  append(clear(body),
    section('This node', facts([
      ['Node', `${status.node} (${status.org}), ${status.voter ? 'voter' : 'learner'}`],
      ['Raft', `${status.role}, term ${status.term}, leader ${status.leader || 'unknown'}`],
      ['Applied', `block ${status.height} (Raft index ${status.applied_index} of ${status.commit_index} committed)`],
      ['Header hash', h('code', { class: 'break', text: status.header_hash })],
      ['Transparency log', `${status.log_size} accepted entries`],
      ['Pending', `${status.pending} entries waiting for a block`],
      status.diverged ? ['Diverged', h('span', { class: 'error', text: status.diverged_reason })] : null,
    ])),
    section('Nodes', table(['Node', 'Role', 'Address', 'Link', 'Raft match (leader only)', 'Latest attested block',
      'Behind this node'], rows),
    note(`Heights come from the attestations of the last ${RECENT_BLOCKS} blocks this node holds; learners do not ` +
      'attest. Raft match and lag are known to the leader only.', 'muted small')),
    section('Latest certified head', head ? facts([
      ['Height', num(head.height)],
      ['Header hash', h('code', { class: 'break', text: head.header_hash })],
      ['Log size', `${head.log_size} accepted entries`],
      ['Log root', h('code', { class: 'break', text: head.log_root })],
      ['Attested by', head.attestations.map((a) => a.node).join(', ')],
      ['Header check', h('span', { id: 'head-check', text: 'checking…' })],
    ]) : note(headErr ? explain(headErr) : 'none', headErr && headErr.code === 'no_certified_head' ? 'muted' : 'error')));
  if (head) {
    const out = body.querySelector('#head-check');
    const why = unavailableReason(ctx.who.hash);
    if (why) out.textContent = 'not checked: ' + why;
    else {
      checkHead(head).then((r) => out.replaceChildren(r.ok
        ? badge('ok', 'matches block ' + head.height) : badge('failed', 'does not match block ' + head.height)))
        .catch((e) => { out.textContent = explain(e); });
    }
  }
}

export async function renderNetwork(ctx) {
  setLiveState('refreshes every 5 s on this view');
  const body = h('div');
  ctx.view.append(h('h1', { text: 'Network' }), body);
  let timer = null;
  let stopped = false;
  const tick = async () => {
    try {
      await draw(ctx, body);
    } catch (e) {
      append(clear(body), note(explain(e), 'error'));
    }
    if (!stopped) timer = setTimeout(tick, 5000);
  };
  await tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
