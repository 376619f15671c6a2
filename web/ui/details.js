// One token: header with its actions, and the tabs General, Modules,
// Details and Audit trail.
import {request, describe, iconUrl} from './api.js';
import {query} from './rql.js';
import {h, clear, when, badge, avatar, alertError, busy} from './dom.js';
import {CONFLICT, toggleToken, deleteToken, toggles} from './actions.js';
import {openEditDialog} from './wizard.js';
import {secretField, copyText} from './widgets.js';

const TABS = [
	{key: 'general', label: 'General'},
	{key: 'modules', label: 'Modules'},
	{key: 'details', label: 'Details'},
	{key: 'audit', label: 'Audit trail'},
];
// The events of the embedded audit object, in the order a person reads
// them; any other event the API reports is shown after these.
const EVENTS = ['created', 'updated', 'enabled', 'disabled', 'deleted'];

// focus: a selector of what takes the focus once drawn (after an action,
// the control that replaced the one the person used).
export async function renderDetails(main, id, tabKey, focus) {
	const tab = TABS.some((t) => t.key === tabKey) ? tabKey : 'general';
	const path = `/${encodeURIComponent(id)}`;
	main.setAttribute('aria-busy', 'true');
	clear(main, h('p', {class: 'loading'}, 'Loading…'));
	let token, etag;
	try {
		({data: token, etag} = await request('GET', path));
	} catch (e) {
		main.removeAttribute('aria-busy');
		clear(main, h('h1', {}, 'API token'), h('p', {class: 'form-error'}, describe(e)),
			h('p', {}, h('a', {href: '#/'}, 'Back to the list')));
		return;
	}
	main.removeAttribute('aria-busy');
	document.title = `${token.name} · API tokens`;

	// the tab shown now, which the URL holds
	const current = () => (location.hash.match(/\/(\w+)$/) || [])[1];
	const reload = (sel) => renderDetails(main, id, current(), sel);
	// 412: say so, show what is there now
	const conflict = () => {
		alertError(CONFLICT);
		reload('#edit-token');
	};

	const actions = h('div', {class: 'actions'});
	const edit = h('button', {type: 'button', class: 'button primary', id: 'edit-token'}, 'Edit');
	edit.addEventListener('click', () => busy(edit, async () => {
		alertError('');
		try {
			await openEditDialog(token, etag, {opener: edit, onSaved: () => reload('#edit-token'),
				onConflict: conflict});
		} catch (e) {
			alertError(describe(e));
		}
	}));
	if (token.status !== 'Deleted')
		actions.append(edit);
	if (toggles(token.status)) {
		const action = token.status === 'Active' ? 'disable' : 'enable';
		const toggle = h('button', {type: 'button', class: 'button secondary', id: `${action}-token`},
			token.status === 'Active' ? 'Disable' : 'Enable');
		toggle.addEventListener('click', () => toggleToken(token, etag, {opener: toggle,
			reload: () => reload('#enable-token, #disable-token'),
			done: () => reload('#enable-token, #disable-token')}));
		actions.append(toggle);
	}
	if (token.status !== 'Deleted') {
		const del = h('button', {type: 'button', class: 'button danger', id: 'delete-token'}, 'Delete');
		del.addEventListener('click', () => deleteToken(token, etag, {opener: del,
			reload: () => reload('#delete-token'),
			done: () => { location.hash = '#/'; }}));
		actions.append(del);
	}

	const tablist = h('div', {role: 'tablist', 'aria-label': 'API token', class: 'tabs'});
	const panel = h('div', {role: 'tabpanel', class: 'tab-panel', tabindex: '0', id: 'tab-panel'});
	const tabs = TABS.map((t) => h('button', {
		type: 'button', role: 'tab', id: `tab-${t.key}`, 'aria-controls': 'tab-panel',
		'aria-selected': String(t.key === tab), tabindex: t.key === tab ? '0' : '-1',
		onclick: () => select(t.key, false),
	}, t.label));
	tablist.append(...tabs);
	// arrows, Home and End move between tabs (and select them)
	tablist.addEventListener('keydown', (e) => {
		const i = tabs.indexOf(document.activeElement);
		if (i < 0)
			return;
		let j = null;
		if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
		else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
		else if (e.key === 'Home') j = 0;
		else if (e.key === 'End') j = tabs.length - 1;
		if (j === null)
			return;
		e.preventDefault();
		select(TABS[j].key, true);
	});

	function select(key, focus) {
		for (const [i, t] of TABS.entries()) {
			tabs[i].setAttribute('aria-selected', String(t.key === key));
			tabs[i].tabIndex = t.key === key ? 0 : -1;
		}
		const i = TABS.findIndex((t) => t.key === key);
		panel.setAttribute('aria-labelledby', tabs[i].id);
		if (focus)
			tabs[i].focus();
		// the tab is in the URL (replaced, so Back leaves the token)
		history.replaceState(null, '', `#/tokens/${encodeURIComponent(id)}/${key}`);
		const render = {general, modules, details, audit}[key];
		clear(panel, render());
	}

	function general() {
		const endpoint = `${location.origin}/public/v1/`;
		return h('dl', {class: 'facts'},
			h('dt', {}, 'Description'), h('dd', {}, token.description || h('span', {class: 'muted'}, '—')),
			h('dt', {}, 'API endpoint'), h('dd', {}, h('div', {class: 'secret-row'},
				h('code', {}, endpoint),
				h('button', {type: 'button', class: 'button secondary small', 'aria-label': 'Copy the API endpoint',
					onclick: () => copyText(endpoint, 'API endpoint').catch((e) => alertError(e.message))}, 'Copy'))),
			h('dt', {}, 'API token'), h('dd', {}, token.status === 'Deleted'
				? h('span', {class: 'muted'}, 'Deleted tokens have no value.')
				: secretField({id: token.id, getValue: async () => {
					// every reveal is audited by the server
					try {
						const {data} = await request('GET', `${path}?select=token`);
						return data.token;
					} catch (e) {
						throw new Error(describe(e));
					}
				}})));
	}

	function modules() {
		const mods = token.modules || [];
		if (!mods.length)
			return h('p', {class: 'muted'}, 'This token may use no module.');
		return h('table', {class: 'grid compact'},
			h('caption', {class: 'sr-only'}, 'Modules of the token'),
			h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Module'), h('th', {scope: 'col'}, 'ID'))),
			h('tbody', {}, mods.map((m) => h('tr', {}, h('td', {'data-label': 'Module'}, m.name),
				h('td', {'data-label': 'ID'}, h('span', {class: 'id'}, m.id))))));
	}

	function details() {
		const a = token.audit || {};
		const events = EVENTS.filter((e) => a[e]).concat(Object.keys(a).filter((e) => !EVENTS.includes(e)));
		const label = (e) => e.charAt(0).toUpperCase() + e.slice(1);
		return h('dl', {class: 'facts'},
			events.map((e) => [
				h('dt', {}, label(e)),
				h('dd', {}, when(a[e].at), a[e].by ? [' by ', a[e].by.name || '', ' ',
					h('span', {class: 'id'}, a[e].by.id)] : null),
			]),
			h('dt', {}, 'Last access'), h('dd', {}, when(token.lastAccessAt)),
			// tokens that expire (once the API has them) show when
			'expiresAt' in token ? [h('dt', {}, 'Expires'), h('dd', {}, when(token.expiresAt))] : null,
			h('dt', {}, 'Revision'), h('dd', {}, String(token.revision)));
	}

	function audit() {
		const box = h('div', {class: 'audit'});
		let offset = 0;
		const limit = 10;
		async function page(used) {
			box.setAttribute('aria-busy', 'true');
			clear(box, h('p', {class: 'loading'}, 'Loading…'));
			try {
				const {data} = await request('GET', `${path}/audit` +
					query({order: '-timestamp', limit, offset, flags: ['render()']}));
				const {total} = data.$meta.pagination;
				const prev = h('button', {type: 'button', class: 'button secondary', id: 'audit-newer',
					disabled: offset === 0, onclick: () => { offset -= limit; page('audit-newer'); }}, 'Newer');
				const next = h('button', {type: 'button', class: 'button secondary', id: 'audit-older',
					disabled: offset + limit >= total, onclick: () => { offset += limit; page('audit-older'); }}, 'Older');
				clear(box,
					h('table', {class: 'grid compact', id: 'audit-trail'},
						h('caption', {class: 'sr-only'}, 'Audit trail, newest first'),
						h('thead', {}, h('tr', {}, ['Date', 'Actor', 'Summary'].map((c) => h('th', {scope: 'col'}, c)))),
						h('tbody', {}, data.data.length ? data.data.map((r) => h('tr', {},
							h('td', {'data-label': 'Date'}, when(r.timestamp)),
							h('td', {'data-label': 'Actor'}, r.actor?.name || '', h('br'), h('span', {class: 'id'}, r.actor?.id || '')),
							h('td', {'data-label': 'Summary'}, r.summary || r.event,
								r.details && r.details !== r.summary ? h('span', {class: 'hint block'}, r.details) : null)))
							: h('tr', {}, h('td', {colspan: 3, class: 'empty'}, 'No records.')))),
					h('div', {class: 'pager'},
						h('p', {class: 'muted'}, total ? `${offset + 1}–${Math.min(offset + limit, total)} of ${total} records` : ''),
						h('div', {class: 'pager-controls'}, prev, next)));
				if (used)
					(document.getElementById(used).disabled ? box.querySelector('button:not(:disabled)') : document.getElementById(used))?.focus();
			} catch (e) {
				clear(box, h('p', {class: 'form-error'}, describe(e)));
			} finally {
				box.removeAttribute('aria-busy');
			}
		}
		page();
		return box;
	}

	const a = token.account || {};
	clear(main,
		h('div', {class: 'page-head'},
			h('div', {class: 'token-head'}, avatar(token, `${iconUrl(token.id)}?v=${token.revision}`),
				h('div', {},
					h('p', {class: 'muted'}, `API token ${token.id}`),
					h('h1', {id: 'token-name'}, token.name),
					h('p', {}, badge(token.status)))),
			actions),
		h('div', {class: 'cards'},
			h('div', {class: 'card'}, h('h2', {class: 'card-title'}, 'Account'),
				h('p', {}, a.name || '', ' ', a.status ? badge(a.status) : null), h('p', {class: 'id'}, a.id || '')),
			h('div', {class: 'card'}, h('h2', {class: 'card-title'}, 'Last access'), h('p', {}, when(token.lastAccessAt)))),
		tablist, panel);
	select(tab, false);
	if (focus)
		main.querySelector(focus)?.focus();
}
