// The public patron API, as any portal calls it: Bearer token, Accept-Language, the kiosk key
// header on a kiosk's session, and an Idempotency-Key on every write.
import { language } from './i18n.js';

export const KIOSK_HEADER = 'X-Kiosk-Key';
const WRITES = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** A refusal or error from the gateway: its problem document (RFC 9457) as `problem`. */
export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  /** The problem's slug (…/problems/<slug>). */
  get slug() {
    return String(this.problem.type || '').split('/').pop();
  }
}

/** The network failed before the gateway answered. */
export class NetworkProblem extends Error {}

function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // plain http: no randomUUID
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Api {
  constructor(tenant) {
    this.base = `/v1/tenants/${encodeURIComponent(tenant)}`;
    this.token = null;
    this.kioskKey = null;
    this.onSessionEnded = null; // called on 401 session-expired of a logged-in session
  }

  async request(method, path, body = undefined, { blob = false } = {}) {
    const headers = { 'Accept-Language': language(), Accept: blob ? '*/*' : 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (this.kioskKey) headers[KIOSK_HEADER] = this.kioskKey;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (WRITES.has(method) && this.token) headers['Idempotency-Key'] = idempotencyKey();
    let response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (error) {
      throw new NetworkProblem(String(error));
    }
    if (response.ok) {
      if (response.status === 204) return null;
      return blob ? response.blob() : response.json();
    }
    let problem;
    try {
      problem = await response.json();
    } catch {
      problem = { title: response.statusText, status: response.status };
    }
    const error = new ApiProblem(response.status, problem);
    if (response.status === 401 && this.token && error.slug === 'session-expired') {
      this.token = null;
      if (this.onSessionEnded) this.onSessionEnded(error);
    }
    throw error;
  }

  get(path, options) { return this.request('GET', path, undefined, options); }
  post(path, body) { return this.request('POST', path, body); }
  patch(path, body) { return this.request('PATCH', path, body); }
  del(path) { return this.request('DELETE', path); }
}

/** A path segment (an item or hold id) safely in a URL. */
export function seg(value) {
  return encodeURIComponent(value);
}
