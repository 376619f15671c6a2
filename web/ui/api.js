// The settings mount's JSON API, fetched from the same origin: the browser
// sends the login it already holds (the web server's basic-auth session),
// and nothing secret is kept by the page (no localStorage, no cookies).

// The page lives at <mount>/ (e.g. /settings/api-tokens/), so the API is
// the same path without the slash.
export const BASE = location.pathname.replace(/\/(index\.html)?$/, '');

// Everything a problem+json answer says, plus the HTTP status.
export class ApiError extends Error {
	constructor(status, problem) {
		super(problem?.detail || problem?.title || `HTTP ${status}`);
		this.status = status;
		this.problem = problem || {};
		// {field: [messages]}, for the form that sent the request
		this.errors = problem?.errors || {};
		this.traceId = problem?.traceId || '';
	}
}

// request('PUT', '/TKN-…', {json, etag}) → {status, etag, data}.
// etag, when given, goes out as If-Match: a change made meanwhile by
// someone else answers 412 instead of being overwritten.
export async function request(method, path, opts = {}) {
	const headers = {Accept: 'application/json'};
	let body;
	if (opts.json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(opts.json);
	} else if (opts.blob) {
		headers['Content-Type'] = opts.blob.type || 'application/octet-stream';
		body = opts.blob;
	}
	if (opts.etag)
		headers['If-Match'] = opts.etag;
	let resp;
	try {
		resp = await fetch(BASE + path, {
			method, headers, body, credentials: 'same-origin', cache: 'no-store',
		});
	} catch (e) {
		throw new ApiError(0, {title: 'Network error',
			detail: 'The server could not be reached. Check the connection and try again.'});
	}
	const type = (resp.headers.get('Content-Type') || '').split(';')[0].trim();
	let data = null;
	if (type === 'application/json' || type.endsWith('+json'))
		data = await resp.json().catch(() => null);
	if (!resp.ok)
		throw new ApiError(resp.status, data);
	return {status: resp.status, etag: resp.headers.get('ETag'), data};
}

// The text a person should read for an error with no field of its own.
export function describe(err) {
	if (!(err instanceof ApiError))
		return String(err?.message || err);
	// the login is the web server's: its own words are for API clients
	if (err.status === 401)
		return 'Your login is no longer valid. Reload the page to log in again.';
	const fallback = {
		403: 'You may not do this: it needs the Access Management module.',
		404: 'This API token no longer exists.',
		503: 'The service is briefly unavailable. Try again in a moment.',
	};
	const p = err.problem;
	// the server's detail says most (e.g. a 403 for values shown only
	// once), but a 404 is about the token the page shows
	let text = (err.status === 404 ? fallback[404] : p.detail || fallback[err.status]) ||
		p.title || `The request failed (HTTP ${err.status}).`;
	// validation messages of fields the form does not show
	const extra = Object.entries(err.errors).map(([f, m]) => `${f}: ${[].concat(m).join(' ')}`);
	if (extra.length)
		text += ' ' + extra.join('; ');
	if (err.traceId)
		text += ` (trace ${err.traceId})`;
	return text;
}

// The URL of a token's logo on this mount (the token's `icon` field names
// the platform mount, which takes Bearer tokens only).
export function iconUrl(id) {
	return `${BASE}/${encodeURIComponent(id)}/icon`;
}
