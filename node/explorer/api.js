// Calls to this node's REST API (docs/api.md). The token lives in sessionStorage: this tab only, gone when it
// closes, sent only to this node (same origin) in the Authorization header — never in a URL.

const KEY = 'onebill.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail || '';
  }
}

let onUnauthorized = () => {};
// Called when the node refuses the token (401) on any call: the app asks for a token again.
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

// The HTTP response for a GET, or an ApiError carrying the problem document's code and detail.
export async function request(path, { auth = true, signal, accept = 'application/json' } = {}) {
  const headers = { Accept: accept };
  if (auth) {
    const t = token.get();
    if (!t) throw new ApiError(401, 'no_token', 'no token entered');
    headers.Authorization = 'Bearer ' + t;
  }
  let res;
  try {
    res = await fetch(path, { headers, signal, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'unreachable', 'the node did not answer');
  }
  if (!res.ok) {
    let p = {};
    try {
      p = await res.json();
    } catch { /* not a problem document */ }
    const err = new ApiError(res.status, p.code || 'http_' + res.status, p.detail || res.statusText);
    if (res.status === 401 && auth) onUnauthorized(err);
    throw err;
  }
  return res;
}

export async function get(path, opts) {
  return (await request(path, opts)).json();
}

// What an error means for the person reading the page.
export function explain(err) {
  if (!(err instanceof ApiError)) return 'Unexpected error in the page: ' + (err && err.message);
  switch (err.code) {
    case 'unauthorized':
    case 'no_token':
      return 'This node does not accept the token: it is wrong, was revoked or has expired, or was issued for ' +
        'another node. Enter a valid token.';
    case 'forbidden':
      return 'Your organisation may not read this. ' + err.detail + '.';
    case 'doc_not_found':
      return 'There is no document with this id on this node. Check the id (ids are case-sensitive).';
    case 'tx_not_found':
      return 'No entry with this id has been applied on this node (it may still be pending).';
    case 'bad_request':
      return 'Not a valid id: ' + err.detail + '.';
    case 'not_ready':
    case 'no_leader':
      return 'The node is not ready (' + err.detail + '). It answers normally once it has a leader and has ' +
        'caught up; try again in a moment.';
    case 'diverged':
      return 'This node has stopped: it diverged from the network (' + err.detail + '). Use another node.';
    case 'unreachable':
      return 'The node does not answer. It may be stopped or restarting; try again in a moment.';
    default:
      return `The node answered HTTP ${err.status} (${err.code}): ${err.detail}`;
  }
}
