// Calls to Scoop's REST API with the browser session: JSON in and out, Django's
// CSRF token on every POST, PUT and DELETE, stale requests cancelled, and a progress bar
// shown for anything slower than a moment.

const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";
const SHOW_AFTER_MS = 150;

export class ApiError extends Error {
  constructor(status, body, fromApi = true) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    // False when the answer was not the API's JSON (e.g. Django's 404 page for a
    // URL this server does not have).
    this.fromApi = fromApi;
  }
}

let pending = 0;
let timer = null;

function busy(delta) {
  pending += delta;
  const bar = document.getElementById("progress");
  if (!bar) return;
  if (pending > 0 && timer === null && bar.hidden) {
    timer = setTimeout(() => { timer = null; if (pending > 0) bar.hidden = false; }, SHOW_AFTER_MS);
  }
  if (pending === 0) {
    clearTimeout(timer);
    timer = null;
    bar.hidden = true;
  }
  document.body.dataset.busy = String(pending);
}

async function request(url, options) {
  busy(1);
  try {
    const response = await fetch(url, { credentials: "same-origin", ...options });
    const type = response.headers.get("Content-Type") || "";
    const body = type.includes("json") ? await response.json() : { detail: (await response.text()).slice(0, 200) };
    if (!response.ok) {
      const json = type.includes("json");
      throw new ApiError(response.status, json ? body : { detail: `HTTP ${response.status}` }, json);
    }
    return body;
  } finally {
    busy(-1);
  }
}

function send(method, url, body, signal) {
  return request(url, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": CSRF },
    body: JSON.stringify(body),
    signal,
  });
}

export function apiPost(url, body, { signal } = {}) {
  return send("POST", url, body, signal);
}

export function apiPut(url, body, { signal } = {}) {
  return send("PUT", url, body, signal);
}

export function apiDelete(url) {
  return request(url, { method: "DELETE", headers: { Accept: "application/json", "X-CSRFToken": CSRF } });
}

export function apiGet(url, params = {}, { signal } = {}) {
  const query = new URLSearchParams(params).toString();
  return request(query ? `${url}?${query}` : url, { headers: { Accept: "application/json" }, signal });
}

export function isAbort(error) {
  return error?.name === "AbortError";
}

// True when a panel's refused request (400) asked with a search the server refused too (or
// that a newer one replaced): the search reports the refusal, once. searched resolves as
// main.js's search(): true (answered), false (refused or failed), null (replaced).
export async function refusedBy(searched, error) {
  if (!searched || !(error instanceof ApiError) || error.status !== 400) return false;
  return (await searched) !== true;
}

// One in-flight request per purpose: starting a new one cancels the previous.
export class Latest {
  constructor() { this.controller = null; }
  next() {
    this.controller?.abort();
    this.controller = new AbortController();
    return this.controller.signal;
  }
}

// Loads a classic script once (plotly.js is large: only fetched when a chart is drawn).
const scripts = new Map();
export function loadScript(src) {
  if (!scripts.has(src)) {
    scripts.set(src, new Promise((resolve, reject) => {
      busy(1);
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = () => { busy(-1); resolve(); };
      tag.onerror = () => { busy(-1); reject(new Error(`could not load ${src}`)); };
      document.head.append(tag);
    }));
  }
  return scripts.get(src);
}
