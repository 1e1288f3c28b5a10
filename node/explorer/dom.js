// DOM building and formatting. Everything shown comes from the ledger, so text is only ever set as text
// (textContent, never innerHTML): an entry's content can never become markup or script.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// Places of the corridor by UN/LOCODE; any other code is shown as it is.
const PLACES = {
  KRPUS: 'Busan', CNTSN: 'Tianjin', CNAKL: 'Alashankou', KZDZH: 'Dostyk', PLMAL: 'Małaszewicze',
  DEDUI: 'Duisburg', BYBRE: 'Brest', CNXIN: 'Xingang', DEHAM: 'Hamburg', PLWAW: 'Warsaw', CNSHA: 'Shanghai',
};

export function place(code) {
  if (!code) return h('span', { class: 'muted', text: '—' });
  const name = PLACES[code];
  return name ? h('span', { class: 'place' }, name, ' ', h('code', { text: code })) : h('code', { text: code });
}

export function org(id) {
  if (!id) return h('span', { class: 'muted', text: '—' });
  return h('span', { class: 'org', text: id });
}

export function docLink(id) {
  return h('a', { href: '#/doc/' + encodeURIComponent(id), class: 'doc-link' }, h('code', { text: id }));
}

export function txLink(id, label) {
  if (!id) return h('span', { class: 'muted', text: '—' });
  return h('a', { href: '#/tx/' + encodeURIComponent(id), class: 'tx-link', title: id },
    h('code', { text: label || id.slice(0, 10) + '…' }));
}

const GOOD = ['accepted', 'accomplished', 'active', 'live', 'released', 'executed', 'approved', 'delivered', 'ok'];
const BAD = ['rejected', 'voided', 'declined', 'enforced', 'failed', 'held', 'open', 'cancelled', 'switched_to_paper'];
const WARN = ['pending', 'requested', 'inspection', 'pending_surrender_for_delivery',
  'pending_surrender_for_amendment', 'surrendered_for_delivery', 'surrendered_for_amendment'];

export function badge(status, label) {
  const tone = GOOD.includes(status) ? 'good' : BAD.includes(status) ? 'bad' : WARN.includes(status) ? 'warn' : 'plain';
  return h('span', { class: 'badge ' + tone, text: label || String(status).replaceAll('_', ' ') });
}

// Amounts are integers in minor units (docs/model.md): 800000000 CNY is CNY 8,000,000.00.
export function money(amount) {
  if (!amount || typeof amount.value !== 'number') return h('span', { class: 'muted', text: '—' });
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: amount.ccy }).resolvedOptions()
      .maximumFractionDigits;
  } catch { /* an unknown currency: two decimals */ }
  const s = String(Math.abs(amount.value)).padStart(digits + 1, '0');
  const whole = s.slice(0, s.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = digits > 0 ? '.' + s.slice(s.length - digits) : '';
  return h('span', { class: 'money', text: `${amount.ccy} ${amount.value < 0 ? '-' : ''}${whole}${frac}` });
}

export function kg(n) {
  if (n === null || n === undefined) return h('span', { class: 'muted', text: '—' });
  return h('span', { class: 'num', text: Number(n).toLocaleString('en') + ' kg' });
}

export function num(n) {
  return h('span', { class: 'num', text: n === null || n === undefined ? '—' : Number(n).toLocaleString('en') });
}

export const EVENT_LABELS = {
  gate_in: 'Gate in', loaded: 'Loaded', departed: 'Departed', border_crossed: 'Border crossed',
  gauge_changed: 'Gauge changed', arrived: 'Arrived', discharged: 'Discharged', gate_out: 'Gate out',
};

// A definition list from [label, value] pairs; values may be nodes or text.
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

export function table(headers, rows, opts = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: opts.class || '' },
      opts.caption ? h('caption', { text: opts.caption }) : null,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows)));
}

export function section(title, ...content) {
  const id = 'sec-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id, text: title }), ...content);
}

export function note(text, cls = 'muted') {
  return h('p', { class: cls, text });
}

export function json(value) {
  return h('pre', { class: 'json', text: JSON.stringify(value, null, 2) });
}
