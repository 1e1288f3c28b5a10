// The live log beside every view: the latest entries the open view follows (at most 30), and its state.

import { h } from './dom.js';

export function logLive(entry, href) {
  const log = document.getElementById('live-log');
  const what = `${entry.type} · ${entry.signer} · ${entry.status}${entry.reason ? ' (' + entry.reason + ')' : ''}`;
  const item = h('li', { class: 'live-item ' + entry.status },
    h('span', { class: 'live-height', text: 'block ' + entry.height }), ' ',
    href ? h('a', { href }, what) : what);
  log.prepend(item);
  while (log.children.length > 30) log.lastChild.remove();
}

export function setLiveState(text) {
  document.getElementById('live-state').textContent = 'Live updates: ' + text;
}
