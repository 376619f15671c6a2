// The list of tokens: search by name, status filter, sorting by column and
// paging, each done by the server through RQL.
import {request, describe, iconUrl} from './api.js';
import {CONFLICT, toggleToken, deleteToken, toggles} from './actions.js';
import {menuButton} from './widgets.js';
import {query, nameContains, statusIs} from './rql.js';
import {h, clear, when, badge, avatar, alertError} from './dom.js';
import {openCreateWizard, openEditDialog} from './wizard.js';

// The statuses a person may filter by.  A status the API adds later (e.g.
// Expired) still gets its badge in the table; add it here to filter by it.
export const STATUSES = ['Active', 'Disabled'];
const PAGE_SIZES = [10, 20, 50];
// Sortable columns and their RQL fields (creators sort by their id: the
// API sorts audit.created.by.id, not the name).
const COLUMNS = [
	{key: 'name', label: 'API token', sort: 'name'},
	{key: 'modules', label: 'Modules'},
	{key: 'creator', label: 'Created by', sort: 'audit.created.by.id'},
	{key: 'created', label: 'Date created', sort: 'audit.created.at'},
	{key: 'access', label: 'Last access', sort: 'lastAccessAt'},
	{key: 'status', label: 'Status', sort: 'status'},
	{key: 'actions', label: 'Actions'},
];
const DEFAULT_ORDER = '-audit.created.at';

// The list's state lives in the URL (#/?q=…&status=…&order=…&limit=…&offset=…),
// so reload, back and forward keep it.
function readState(params) {
	const limit = Number(params.get('limit'));
	const offset = Number(params.get('offset'));
	return {
		q: params.get('q') || '',
		status: STATUSES.includes(params.get('status')) ? params.get('status') : '',
		order: params.get('order') || DEFAULT_ORDER,
		limit: PAGE_SIZES.includes(limit) ? limit : PAGE_SIZES[0],
		offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
	};
}

function stateHash(s) {
	const p = new URLSearchParams();
	if (s.q) p.set('q', s.q);
	if (s.status) p.set('status', s.status);
	if (s.order !== DEFAULT_ORDER) p.set('order', s.order);
	if (s.limit !== PAGE_SIZES[0]) p.set('limit', s.limit);
	if (s.offset) p.set('offset', s.offset);
	const qs = p.toString();
	return '#/' + (qs ? '?' + qs : '');
}

export function renderList(main, params) {
	const state = readState(params);
	document.title = 'API tokens · Settings';

	const search = h('input', {type: 'search', id: 'search', name: 'q', value: state.q,
		autocomplete: 'off', placeholder: 'Search by name'});
	const status = h('select', {id: 'status-filter', name: 'status'},
		h('option', {value: ''}, 'All statuses'),
		STATUSES.map((s) => h('option', {value: s, selected: s === state.status}, s)));
	// the column headers sort on wide screens; narrow ones show this instead
	const sortBy = h('select', {id: 'sort-by', name: 'order'},
		COLUMNS.filter((c) => c.sort).flatMap((c) => [
			h('option', {value: '+' + c.sort, selected: state.order === '+' + c.sort || state.order === c.sort}, `${c.label} ↑`),
			h('option', {value: '-' + c.sort, selected: state.order === '-' + c.sort}, `${c.label} ↓`),
		]));
	const addButton = h('button', {type: 'button', class: 'button primary', id: 'add-token',
		onclick: () => openCreateWizard()}, 'Add API token');
	const table = h('table', {class: 'grid', id: 'tokens', 'aria-describedby': 'page-info'});
	const info = h('p', {id: 'page-info', class: 'muted', 'aria-live': 'polite'});
	const prev = h('button', {type: 'button', class: 'button secondary', id: 'prev-page'}, 'Previous');
	const next = h('button', {type: 'button', class: 'button secondary', id: 'next-page'}, 'Next');
	const size = h('select', {id: 'page-size'},
		PAGE_SIZES.map((n) => h('option', {value: n, selected: n === state.limit}, String(n))));

	clear(main,
		h('div', {class: 'page-head'},
			h('div', {},
				h('h1', {}, 'API tokens'),
				h('p', {class: 'muted'}, 'Tokens let programs use the platform API on behalf of this account.')),
			addButton),
		h('form', {class: 'toolbar', role: 'search', onsubmit: (e) => { e.preventDefault(); go({offset: 0, q: search.value.trim()}); }},
			h('div', {class: 'field inline'}, h('label', {for: 'search'}, 'Search'), search),
			h('div', {class: 'field inline'}, h('label', {for: 'status-filter'}, 'Status'), status),
			h('div', {class: 'field inline narrow-only'}, h('label', {for: 'sort-by'}, 'Sort by'), sortBy)),
		h('div', {class: 'table-wrap'}, table),
		h('div', {class: 'pager'}, info,
			h('div', {class: 'pager-controls'},
				h('label', {for: 'page-size'}, 'Rows per page'), size, prev, next)));

	function go(change) {
		const s = {...state, ...change};
		const target = stateHash(s);
		if (location.hash === target || (location.hash === '' && target === '#/'))
			load(s);
		else
			location.hash = target;
	}

	let timer;
	search.addEventListener('input', () => {
		clearTimeout(timer);
		timer = setTimeout(() => go({offset: 0, q: search.value.trim()}), 300);
	});
	sortBy.addEventListener('change', () => go({offset: 0, order: sortBy.value}));
	status.addEventListener('change', () => go({offset: 0, status: status.value}));
	size.addEventListener('change', () => go({offset: 0, limit: Number(size.value)}));
	prev.addEventListener('click', () => go({offset: Math.max(0, state.offset - state.limit)}));
	next.addEventListener('click', () => go({offset: state.offset + state.limit}));

	function header() {
		const field = state.order.replace(/^[-+]/, '');
		const desc = state.order.startsWith('-');
		return h('thead', {}, h('tr', {}, COLUMNS.map((c) => {
			if (!c.sort)
				return h('th', {scope: 'col'}, c.label);
			const active = c.sort === field;
			const sortAttr = active ? (desc ? 'descending' : 'ascending') : null;
			const nextOrder = active && !desc ? '-' + c.sort : '+' + c.sort;
			return h('th', {scope: 'col', 'aria-sort': sortAttr},
				h('button', {type: 'button', class: 'sort', dataset: {sort: c.sort},
					onclick: () => go({offset: 0, order: nextOrder})},
					c.label, h('span', {class: 'sort-mark', 'aria-hidden': 'true'},
						active ? (desc ? ' ▼' : ' ▲') : ' ↕')));
		})));
	}

	async function load(s) {
		// a control of the table that has the focus gets it back once the
		// rows are drawn anew (e.g. a row's menu button after its action)
		const focused = table.contains(document.activeElement) ? document.activeElement.id : '';
		table.setAttribute('aria-busy', 'true');
		clear(table, header(), h('tbody', {}, h('tr', {}, h('td', {colspan: COLUMNS.length, class: 'loading'}, 'Loading…'))));
		prev.disabled = next.disabled = true;
		const filters = [];
		if (s.q) filters.push(nameContains(s.q));
		if (s.status) filters.push(statusIs(s.status));
		try {
			const {data} = await request('GET', query({filters, order: s.order,
				limit: s.limit, offset: s.offset, select: '+modules,+audit'}));
			const {total} = data.$meta.pagination;
			const rows = data.data.map((t) => row(t, () => load(s)));
			if (!rows.length)
				rows.push(h('tr', {}, h('td', {colspan: COLUMNS.length, class: 'empty'},
					s.q || s.status ? 'No API token matches.' : 'No API tokens yet.')));
			clear(table, header(), h('tbody', {}, rows));
			if (focused && !table.contains(document.activeElement))
				document.getElementById(focused)?.focus();
			const first = total ? s.offset + 1 : 0;
			const last = Math.min(s.offset + s.limit, total);
			const pages = Math.max(1, Math.ceil(total / s.limit));
			info.textContent = `${first}–${last} of ${total} rows · Page ${Math.floor(s.offset / s.limit) + 1} of ${pages}`;
			prev.disabled = s.offset === 0;
			next.disabled = s.offset + s.limit >= total;
			alertError('');
		} catch (e) {
			clear(table, header(), h('tbody', {}, h('tr', {}, h('td', {colspan: COLUMNS.length, class: 'empty'}, 'The list could not be loaded.'))));
			alertError(describe(e));
		} finally {
			table.removeAttribute('aria-busy');
		}
	}

	load(state);
}

function modulesCell(mods) {
	if (!mods?.length)
		return h('span', {class: 'muted'}, 'None');
	if (mods.length === 1)
		return [mods[0].name, h('br'), h('span', {class: 'id'}, mods[0].id)];
	return h('span', {title: mods.map((m) => m.name).join(', ')}, `${mods.length} modules`);
}

// The row's menu: Edit, Disable or Enable, Delete; each reloads the page
// of the list once done (or once a lost race has been said).
function rowActions(t, reload) {
	const etag = `"${t.revision}"`;
	const items = [];
	if (t.status !== 'Deleted')
		items.push({label: 'Edit', run: async (opener) => {
			alertError('');
			try {
				// the form needs the modules and the current revision
				const {data, etag: tag} = await request('GET', `/${encodeURIComponent(t.id)}`);
				await openEditDialog(data, tag, {opener, onSaved: reload,
					onConflict: () => { alertError(CONFLICT); reload(); }});
			} catch (e) {
				alertError(describe(e));
			}
		}});
	if (toggles(t.status))
		items.push({label: t.status === 'Active' ? 'Disable' : 'Enable',
			run: (opener) => toggleToken(t, etag, {opener, reload, done: reload})});
	if (t.status !== 'Deleted')
		items.push({label: 'Delete', danger: true,
			run: (opener) => deleteToken(t, etag, {opener, reload, done: reload})});
	return items.length ? menuButton(`Actions for ${t.name}`, items, {id: `actions-${t.id}`}) : null;
}

function row(t, reload) {
	const by = t.audit?.created?.by;
	const link = `#/tokens/${encodeURIComponent(t.id)}`;
	return h('tr', {dataset: {id: t.id}},
		h('td', {'data-label': 'API token'},
			h('div', {class: 'token-cell'}, avatar(t, iconUrl(t.id) + `?v=${t.revision}`),
				h('div', {}, h('a', {href: link, class: 'token-name'}, t.name), h('br'),
					h('span', {class: 'id'}, t.id)))),
		h('td', {'data-label': 'Modules'}, modulesCell(t.modules)),
		h('td', {'data-label': 'Created by'}, by ? [by.name, h('br'), h('span', {class: 'id'}, by.id)] : '—'),
		h('td', {'data-label': 'Date created'}, when(t.audit?.created?.at)),
		h('td', {'data-label': 'Last access'}, when(t.lastAccessAt)),
		h('td', {'data-label': 'Status'}, badge(t.status)),
		h('td', {'data-label': 'Actions', class: 'row-actions'}, rowActions(t, reload)));
}
