// A bill of lading as a route: each leg with its places and events in order (who reported and who signed each,
// containers, gauge changes, border crossings), the containers and their seals, and the discrepancies — open
// ones first, each with the two conflicting records side by side.

import { get } from './api.js';
import { h, section, table, note, place, org, txLink, badge, kg, num, EVENT_LABELS } from './dom.js';

const MODES = { sea: 'Sea', rail: 'Rail', road: 'Road' };

function containers(refs, other) {
  if (!refs || refs.length === 0) return h('span', { class: 'muted', text: '—' });
  return h('ul', { class: 'refs' }, refs.map((r) => h('li', {},
    other && !other.includes(r) ? h('mark', { title: 'not in the other record' }, h('code', { text: r }))
      : h('code', { text: r }))));
}

// The discrepancies opened by one event: same leg, block and reporting organisation.
function discrepanciesOf(bill, legIndex, ev) {
  return bill.discrepancies.filter((d) => d.leg === legIndex && d.height === ev.height && d.by === ev.by);
}

function legView(bill, leg, i, signers) {
  const rows = leg.events.map((ev, k) => {
    const opened = discrepanciesOf(bill, i, ev);
    const open = opened.some((d) => !d.resolved);
    const kind = ev.event === 'gauge_changed' || ev.event === 'border_crossed' ? ' crossing' : '';
    return h('tr', { class: (open ? 'disc-open' : opened.length ? 'disc-resolved' : '') + kind, 'data-tx': ev.tx },
      h('td', { class: 'num', text: String(k + 1) }),
      h('td', {}, h('span', { class: 'event ' + ev.event, text: EVENT_LABELS[ev.event] || ev.event }),
        opened.map((d) => [' ', badge(d.resolved ? 'released' : 'open', `discrepancy ${d.n}`)])),
      h('td', {}, place(ev.at)),
      h('td', {}, org(ev.by), h('span', { class: 'muted', text: ' as ' + ev.as })),
      h('td', {}, signers.get(ev.tx) ? h('code', { text: signers.get(ev.tx) }) : h('span', { class: 'muted', text: '—' })),
      h('td', {}, containers(ev.equipment)),
      h('td', {}, kg(ev.gross_kg)),
      h('td', { text: ev.vehicle || '' }),
      h('td', {}, num(ev.height), ' ', txLink(ev.tx)));
  });
  return h('li', { class: 'leg' },
    h('div', { class: 'leg-head' },
      h('span', { class: 'mode ' + leg.mode, text: MODES[leg.mode] || leg.mode }),
      h('h3', {}, `Leg ${i + 1}: `, place(leg.from), ' → ', place(leg.to)),
      badge(leg.status)),
    h('p', { class: 'leg-meta' }, 'Carrier ', org(leg.carrier), leg.vehicle ? ` · ${leg.vehicle}` : ''),
    rows.length === 0 ? note('No events reported yet.')
      : table(['#', 'Event', 'Place', 'Reported by', 'Signed with key', 'Containers', 'Gross weight', 'Vehicle',
        'Block · entry'], rows, { class: 'events' }));
}

function record(title, ev, signers, other, extra) {
  return h('div', { class: 'record' },
    h('h4', { text: title }),
    ev ? h('dl', { class: 'facts tight' },
      h('dt', { text: 'Event' }), h('dd', {}, EVENT_LABELS[ev.event] || ev.event, ' at ', place(ev.at)),
      h('dt', { text: 'Reported by' }), h('dd', {}, org(ev.by), ` as ${ev.as}`,
        signers.get(ev.tx) ? [' (key ', h('code', { text: signers.get(ev.tx) }), ')'] : ''),
      h('dt', { text: 'Containers' }), h('dd', {}, containers(ev.equipment, other && other.equipment)),
      ev.gross_kg !== null && ev.gross_kg !== undefined ? [h('dt', { text: 'Gross weight' }), h('dd', {}, kg(ev.gross_kg))] : null,
      h('dt', { text: 'Recorded' }), h('dd', {}, 'block ', num(ev.height), ' ', txLink(ev.tx))) : note('Not found on the bill.'),
    extra || null);
}

// The two records a discrepancy sets against each other (docs/model.md §8).
function sides(bill, d, signers) {
  const events = (bill.legs[d.leg] && bill.legs[d.leg].events) || [];
  const reporter = [...events].reverse().find((e) => e.height === d.height && e.by === d.by);
  const label = (e, fallback) => (e ? `${e.by} (${e.as})` : fallback);
  if (d.code === 'equipment_mismatch' && reporter) {
    const other = [...events].reverse().find((e) => e !== reporter && e.as !== reporter.as &&
      e.event === reporter.event && e.at === reporter.at && e.height <= d.height);
    return [record('Record of ' + label(other, 'the other party'), other, signers, reporter),
      record('Record of ' + label(reporter), reporter, signers, other)];
  }
  if (d.code === 'equipment_missing' && reporter) {
    const loaded = events.find((e) => e.as === 'carrier' && e.event === 'loaded');
    return [record('Loaded, by ' + label(loaded, 'the carrier'), loaded, signers, reporter),
      record('Arrived, by ' + label(reporter), reporter, signers, loaded)];
  }
  if (d.code === 'weight_mismatch') {
    const lines = bill.cargo.filter((c) => !reporter || reporter.equipment.length === 0 ||
      reporter.equipment.includes(c.equipment_ref));
    const total = lines.reduce((n, c) => n + c.gross_kg, 0);
    return [h('div', { class: 'record' }, h('h4', {}, 'The bill, as issued by ', org(bill.issuer)),
      table(['Cargo', 'Container', 'Gross weight'], lines.map((c) => h('tr', {}, h('td', { text: c.description }),
        h('td', {}, h('code', { text: c.equipment_ref })), h('td', {}, kg(c.gross_kg))))),
      h('p', {}, 'Total ', h('strong', {}, kg(total)))),
    record('Reported by ' + label(reporter, d.by), reporter, signers)];
  }
  if (d.code === 'seal_mismatch') {
    const reported = h('p', { class: 'muted', text: 'Loading the seals reported…' });
    if (reporter) {
      get('/v1/transactions/' + encodeURIComponent(reporter.tx)).then((tx) => {
        const eq = (tx.envelope.tx.body.equipment || []).filter((e) => e.seals);
        reported.replaceWith(table(['Container', 'Seals reported'], eq.map((e) => h('tr', {},
          h('td', {}, h('code', { text: e.ref })), h('td', {}, h('mark', { text: e.seals.join(', ') }))))));
      }).catch(() => { reported.textContent = 'The reported seals are in the entry (follow its link).'; });
    }
    return [h('div', { class: 'record' }, h('h4', { text: 'Seals on record before this report' }),
      table(['Container', 'Seals as issued'], bill.equipment.map((e) => h('tr', {},
        h('td', {}, h('code', { text: e.ref })), h('td', { text: e.seals.join(', ') || '—' })))),
      note('Last known seals at the time: ' + d.detail, 'muted small')),
    record('Reported by ' + label(reporter, d.by), reporter, signers, null, reported)];
  }
  return [record('Reported by ' + d.by, reporter, signers)];
}

function discrepancyView(bill, d, signers) {
  return h('article', { class: 'discrepancy ' + (d.resolved ? 'resolved' : 'open'), id: 'discrepancy-' + d.n },
    h('header', {},
      badge(d.resolved ? 'released' : 'open', d.resolved ? 'resolved' : 'open'),
      h('h3', {}, `Discrepancy ${d.n}: `, h('code', { text: d.code })),
      h('span', { class: 'muted' }, ` leg ${d.leg + 1}, reported by `, org(d.by), ' in block ', num(d.height))),
    h('p', { class: 'detail', text: d.detail }),
    h('div', { class: 'side-by-side' }, sides(bill, d, signers)),
    d.resolved ? h('p', { class: 'resolution' }, 'Resolved by ', org(d.resolved_by), ' in block ', num(d.resolved_height),
      ': ', h('q', { text: d.note || '' })) : h('p', { class: 'open-note' },
      'Open: the bill cannot be surrendered for delivery or accepted as collateral until the issuer resolves it.'));
}

export function billSections(bill, signers) {
  const open = bill.discrepancies.filter((d) => !d.resolved);
  const ordered = [...open, ...bill.discrepancies.filter((d) => d.resolved)];
  const out = [];
  out.push(section('Route', h('ol', { class: 'legs' }, bill.legs.map((leg, i) => legView(bill, leg, i, signers)))));
  out.push(section('Discrepancies', ordered.length === 0 ? note('None: every report agreed.')
    : ordered.map((d) => discrepancyView(bill, d, signers))));
  out.push(section('Containers and seals', table(['Container', 'Type', 'Seals as issued', 'Last known seals', 'Cargo'],
    bill.equipment.map((e) => {
      const resealed = e.current_seals.join(',') !== [...e.seals].sort().join(',');
      return h('tr', {},
        h('td', {}, h('code', { text: e.ref })), h('td', { text: e.iso_code }),
        h('td', { text: e.seals.join(', ') || '—' }),
        h('td', {}, e.current_seals.join(', ') || '—', resealed ? [' ', badge('plain', 're-sealed')] : ''),
        h('td', {}, h('ul', { class: 'refs' }, bill.cargo.filter((c) => c.equipment_ref === e.ref).map((c) =>
          h('li', {}, `${c.description} — HS ${c.hs}, ${c.packages} packages, `, kg(c.gross_kg))))));
    }))));
  return { sections: out, open };
}
