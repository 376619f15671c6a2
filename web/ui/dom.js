// Small DOM helpers shared by the views: element building, dates, status
// badges and the page's status messages.

// h('button', {class: 'x', onclick: f}, 'text', child…): attributes whose
// name starts with "on" become listeners, booleans toggle the attribute,
// null and undefined are left out; children may be strings, nodes, arrays
// or null.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'dataset')
			Object.assign(el.dataset, v);
		else if (v === true)
			el.setAttribute(k, '');
		else
			el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : String(c));
	}
}

export function clear(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

const dateFmt = new Intl.DateTimeFormat(undefined, {
	year: 'numeric', month: 'short', day: '2-digit',
	hour: '2-digit', minute: '2-digit', second: '2-digit',
});

// A <time> for an ISO-8601 instant, or a dash when there is none.
export function when(iso) {
	if (!iso)
		return h('span', {class: 'muted', 'aria-label': 'never'}, '—');
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return h('span', {}, iso);
	return h('time', {datetime: iso, title: iso}, dateFmt.format(d));
}

// Any status string gets a badge: the known ones have their colour, a new
// one (e.g. Expired, once the API has it) a neutral look.
const KNOWN_STATUS = new Set(['active', 'disabled', 'expired', 'deleted']);
export function badge(status) {
	const s = String(status || 'Unknown');
	const slug = s.toLowerCase();
	return h('span', {class: `badge badge-${KNOWN_STATUS.has(slug) ? slug : 'other'}`}, s);
}

// Initials avatar, or the token's logo when it has one.
export function avatar(token, iconUrl) {
	if (token.icon)
		return h('img', {class: 'avatar', src: iconUrl, alt: '', width: 32, height: 32});
	// the first letter or digit of the first two words that have one
	const firsts = String(token.name || '').split(/\s+/u)
		.map((w) => w.match(/[\p{L}\p{N}]/u)?.[0]).filter(Boolean);
	const initials = firsts.slice(0, 2).join('') || '?';
	return h('span', {class: 'avatar', 'aria-hidden': 'true'}, initials.toUpperCase());
}

let statusTimer;
// A polite message ("Token disabled.").  Cleared after a while, so the same
// text said twice is announced twice.
export function announce(text) {
	const el = document.getElementById('status');
	el.textContent = '';
	clearTimeout(statusTimer);
	// a fresh text node makes screen readers speak it again
	requestAnimationFrame(() => { el.textContent = text; });
	statusTimer = setTimeout(() => { el.textContent = ''; }, 8000);
}

// An error that concerns the whole page (no field to put it next to).
export function alertError(text) {
	const el = document.getElementById('alert');
	// a success said before no longer stands next to it
	if (text) {
		clearTimeout(statusTimer);
		document.getElementById('status').textContent = '';
	}
	el.hidden = !text;
	el.textContent = text || '';
}

// Mark a button (or several) busy while a request runs.
export async function busy(buttons, fn) {
	const list = [buttons].flat().filter(Boolean);
	for (const b of list) {
		b.disabled = true;
		b.setAttribute('aria-busy', 'true');
	}
	try {
		return await fn();
	} finally {
		for (const b of list) {
			b.disabled = false;
			b.removeAttribute('aria-busy');
		}
	}
}
