// The API, with the tenant's key from sessionStorage only (never a URL, a cookie or
// the browser's lasting storage). A 401 anywhere signs the dashboard out (main.js listens).

const KEY = 'gateway.apiKey';
export const UNAUTHORIZED = 'gateway:unauthorized';

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the gateway answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function url(path, query) {
  const target = new URL(`/api/v1${path}`, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== '') {
      target.searchParams.set(name, String(value));
    }
  }
  return target;
}

export function authHeaders(key = session.key) {
  return { Authorization: `Bearer ${key}` };
}

/** Resolves to the JSON body (null for 204); rejects with ApiError, or TypeError offline. */
export async function request(method, path, { query, body, signal, key } = {}) {
  const response = await fetch(url(path, query), {
    method,
    body,
    signal,
    headers: { ...authHeaders(key), Accept: 'application/json' },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (response.status === 401 && key === undefined) {
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED));
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Fetches a file with the key in the header and hands it to the browser as a download. */
export async function download(path, query, filename) {
  const response = await fetch(url(path, query), {
    headers: authHeaders(),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (response.status === 401) window.dispatchEvent(new CustomEvent(UNAUTHORIZED));
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    throw new ApiError(response.status, data);
  }
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}
