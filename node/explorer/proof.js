// Checking, in the page, that an entry is in the transparency log the network certified (docs/formats/block.md):
// RFC 6962 hashing — leaf = H(0x00 ‖ raw tx id), node = H(0x01 ‖ left ‖ right) — and the inclusion proof
// verification of RFC 9162 §2.1.3.2, with the browser's own SHA-256 (WebCrypto). The certified head itself is
// checked against the block header it names: H(canonical(header)) must be the head's header hash, and the
// header's log root and size the head's. What the page does not check: the attestations' signatures (they need
// the nodes' keys from genesis) — `onebill verify` on the audit bundle checks everything offline.

import { get } from './api.js';

const subtle = globalThis.crypto && globalThis.crypto.subtle;

// Why the page cannot check proofs here, or null when it can.
export function unavailableReason(hashAlg) {
  if (hashAlg && hashAlg !== 'sha256') {
    return `this network hashes with ${hashAlg}, which browsers do not provide; check the audit bundle with ` +
      '`onebill verify`';
  }
  if (!subtle) {
    return 'the browser gives its crypto only to secure pages: open the explorer over HTTPS (the TLS proxy) or ' +
      'on localhost';
  }
  return null;
}

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) throw new Error('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await subtle.digest('SHA-256', buf));
}

const leafHash = (data) => sha256(Uint8Array.of(0), data);
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// RFC 9162 §2.1.3.2 (indexes stay below 2^53, so plain arithmetic instead of 32-bit shifts).
export async function verifyInclusion(leaf, index, size, path, root) {
  if (!(index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

// RFC 8785 for what headers hold (objects, strings, integers): keys sorted, no whitespace. JSON.stringify writes
// strings and integers exactly as RFC 8785 does.
export function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

const headChecks = new Map();

// Does the certified head match the header of the block it names? Cached per header hash.
export function checkHead(head) {
  if (!headChecks.has(head.header_hash)) {
    headChecks.set(head.header_hash, (async () => {
      const block = await get('/v1/blocks/' + head.height);
      const digest = await sha256(new TextEncoder().encode(canonical(block.header)));
      const ok = bytesToHex(digest) === head.header_hash && block.header.log_root === head.log_root &&
        block.header.log_size === head.log_size;
      return { ok, block };
    })().catch((e) => {
      headChecks.delete(head.header_hash);
      throw e;
    }));
  }
  return headChecks.get(head.header_hash);
}

// The outcome of checking one entry: {state: 'ok'|'bad'|'rejected'|'waiting', text, tx}.
export async function checkEntry(txId) {
  const tx = await get('/v1/transactions/' + encodeURIComponent(txId));
  if (tx.status === 'rejected') {
    return { state: 'rejected', text: 'rejected entries are recorded in blocks, not in the log', tx };
  }
  const proof = tx.proof;
  if (!proof) {
    return { state: 'waiting', text: 'newer than the certified head (or none certified yet): ask again shortly', tx };
  }
  const head = await checkHead(proof.head);
  const included = await verifyInclusion(await leafHash(hexToBytes(tx.id)), proof.log_index, proof.tree_size,
    proof.path.map(hexToBytes), hexToBytes(proof.head.log_root));
  if (!head.ok) return { state: 'bad', text: 'the certified head does not match its block header', tx };
  if (!included || proof.tree_size !== proof.head.log_size) {
    return { state: 'bad', text: 'the inclusion proof does not lead to the certified log root', tx };
  }
  return {
    state: 'ok',
    text: `in the certified log: entry ${proof.log_index + 1} of ${proof.tree_size}, head at height ${proof.head.height}`,
    tx,
  };
}
