// Form pieces shared by the wizard, the edit dialog and the details page.
import {h, announce} from './dom.js';

let seq = 0;
const uid = (p) => `${p}-${++seq}`;

// A labelled field with a place for its error message right under it.
// control: the input element (its id is set here).  Returns {el, control,
// setError(messages)}.
export function field(label, control, {hint, name} = {}) {
	const id = control.id || uid(name || 'f');
	control.id = id;
	const errorId = `${id}-error`;
	const hintId = hint ? `${id}-hint` : null;
	const error = h('p', {class: 'field-error', id: errorId, hidden: true});
	control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
	const el = h('div', {class: 'field', dataset: {field: name || ''}},
		h('label', {for: id}, label), control,
		hint ? h('p', {class: 'hint', id: hintId}, hint) : null, error);
	function setError(messages) {
		const text = [].concat(messages || []).join(' ');
		error.hidden = !text;
		error.textContent = text;
		if (text)
			control.setAttribute('aria-invalid', 'true');
		else
			control.removeAttribute('aria-invalid');
	}
	return {el, control, setError, error};
}

const MAX_ICON = 5 * 1024 * 1024;
const ICON_TYPES = ['image/png', 'image/jpeg'];

// The logo picker: a file input that also takes a dropped file, with a
// preview.  get() → a File, null (none chosen) or '' (remove the logo).
export function logoField({currentUrl} = {}) {
	const input = h('input', {type: 'file', accept: '.png,.jpg,.jpeg,image/png,image/jpeg', name: 'logo'});
	const preview = h('img', {class: 'logo-preview', alt: 'Logo preview', hidden: !currentUrl, src: currentUrl || null});
	let chosen = null;
	const remove = currentUrl ? h('button', {type: 'button', class: 'button link', onclick: () => {
		chosen = '';
		input.value = '';
		preview.hidden = true;
		remove.hidden = true;
		announce('The logo will be removed when you save.');
	}}, 'Remove logo') : null;
	const f = field('Logo (optional)', input, {name: 'icon',
		hint: 'Max file size is 5 MB. Supported file types are .jpg and .png.'});
	function take(file) {
		f.setError(null);
		if (!file)
			return;
		if (!ICON_TYPES.includes(file.type)) {
			f.setError('Choose a .png or .jpg file.');
			return;
		}
		if (file.size > MAX_ICON) {
			f.setError('The file is larger than 5 MB.');
			return;
		}
		chosen = file;
		preview.src = URL.createObjectURL(file);
		preview.hidden = false;
		if (remove)
			remove.hidden = false;
	}
	input.addEventListener('change', () => take(input.files[0]));
	const drop = h('div', {class: 'dropzone'}, preview, f.el, remove);
	drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
	drop.addEventListener('dragleave', () => drop.classList.remove('over'));
	drop.addEventListener('drop', (e) => {
		e.preventDefault();
		drop.classList.remove('over');
		take(e.dataTransfer.files[0]);
	});
	return {el: drop, setError: f.setError, get: () => chosen, input};
}

// Checkboxes of the grantable modules, with a search box over them (the
// account's modules are a short list, fetched once).
export function moduleChooser(modules, selected = []) {
	const picked = new Set(selected);
	const filter = h('input', {type: 'search', autocomplete: 'off', placeholder: 'Search modules'});
	const fFilter = field('Search modules', filter, {name: 'module-search'});
	const list = h('ul', {class: 'checklist'});
	const error = h('p', {class: 'field-error', hidden: true, id: uid('modules-error')});
	const group = h('fieldset', {class: 'modules', 'aria-describedby': error.id},
		h('legend', {}, 'Modules the token may use'), fFilter.el, list, error);
	for (const m of modules) {
		const box = h('input', {type: 'checkbox', value: m.id, id: uid('mod'), checked: picked.has(m.id),
			onchange: (e) => { e.target.checked ? picked.add(m.id) : picked.delete(m.id); }});
		list.append(h('li', {dataset: {search: `${m.name} ${m.id}`.toLowerCase()}},
			box, h('label', {for: box.id}, h('span', {}, m.name), ' ', h('span', {class: 'id'}, m.id),
				m.description ? h('span', {class: 'hint block'}, m.description) : null)));
	}
	if (!modules.length)
		list.append(h('li', {class: 'muted'}, 'This account has no module you may grant.'));
	filter.addEventListener('input', () => {
		const q = filter.value.trim().toLowerCase();
		for (const li of list.children)
			li.hidden = Boolean(q) && !(li.dataset.search || '').includes(q);
	});
	return {
		el: group,
		get: () => modules.filter((m) => picked.has(m.id)),
		setError(messages) {
			const text = [].concat(messages || []).join(' ');
			error.hidden = !text;
			error.textContent = text;
			group.toggleAttribute('aria-invalid', Boolean(text));
		},
	};
}

export async function copyText(text, what = 'Value') {
	await navigator.clipboard.writeText(text);
	announce(`${what} copied to the clipboard.`);
}

// The token value: masked, with Show/Hide and Copy.  getValue() returns the
// value (the details page fetches it each time: every reveal is audited,
// and a hidden value does not stay in the page).
export function secretField({id, getValue, label = 'API token'}) {
	const masked = `idt:${id}:${'•'.repeat(24)}`;
	const out = h('output', {class: 'secret', id: uid('secret'), 'aria-label': label}, masked);
	const show = h('button', {type: 'button', class: 'button secondary small', 'aria-pressed': 'false'}, 'Show');
	const copy = h('button', {type: 'button', class: 'button secondary small'}, 'Copy');
	const error = h('p', {class: 'field-error', hidden: true});
	function fail(e) {
		error.hidden = false;
		error.textContent = e.message || String(e);
	}
	show.addEventListener('click', async () => {
		error.hidden = true;
		if (show.getAttribute('aria-pressed') === 'true') {
			out.textContent = masked;
			show.textContent = 'Show';
			show.setAttribute('aria-pressed', 'false');
			return;
		}
		show.disabled = true;
		try {
			out.textContent = await getValue();
			show.textContent = 'Hide';
			show.setAttribute('aria-pressed', 'true');
		} catch (e) {
			fail(e);
		} finally {
			show.disabled = false;
		}
	});
	copy.addEventListener('click', async () => {
		error.hidden = true;
		copy.disabled = true;
		try {
			await copyText(await getValue(), label);
		} catch (e) {
			fail(e);
		} finally {
			copy.disabled = false;
		}
	});
	return h('div', {class: 'secret-field'},
		h('div', {class: 'secret-row'}, out, show, copy), error);
}

// A menu button (the row actions of the list): the button opens a list of
// items; arrows, Home and End move, Escape and Tab close, and the focus
// returns to the button.  items: [{label, run}].
export function menuButton(label, items, {id} = {}) {
	const menuId = uid('menu');
	const button = h('button', {type: 'button', class: 'button secondary small menu-button', id,
		'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': menuId, 'aria-label': label}, '•••');
	const menu = h('ul', {role: 'menu', id: menuId, class: 'menu', hidden: true, 'aria-label': label});
	const entries = items.map((it) => {
		const b = h('button', {type: 'button', role: 'menuitem', tabindex: '-1', class: it.danger ? 'danger' : null}, it.label);
		b.addEventListener('click', () => {
			close(false);
			it.run(button);
		});
		menu.append(h('li', {role: 'none'}, b));
		return b;
	});
	// fixed to the window next to the button, so that no scrolling table
	// clips it; below the button, or above when the window ends first
	function place() {
		const r = button.getBoundingClientRect();
		const m = menu.getBoundingClientRect();
		const below = r.bottom + 4 + m.height <= window.innerHeight;
		menu.style.top = `${below ? r.bottom + 4 : Math.max(4, r.top - 4 - m.height)}px`;
		menu.style.left = `${Math.max(4, Math.min(r.right - m.width, window.innerWidth - m.width - 4))}px`;
	}
	const dismiss = () => close(false);
	function open(at = 0) {
		menu.hidden = false;
		place();
		button.setAttribute('aria-expanded', 'true');
		entries[at]?.focus();
		document.addEventListener('pointerdown', outside, true);
		window.addEventListener('scroll', dismiss, {capture: true, once: true});
		window.addEventListener('resize', dismiss, {once: true});
	}
	function close(focus = true) {
		menu.hidden = true;
		button.setAttribute('aria-expanded', 'false');
		document.removeEventListener('pointerdown', outside, true);
		window.removeEventListener('scroll', dismiss, {capture: true});
		window.removeEventListener('resize', dismiss);
		if (focus)
			button.focus();
	}
	function outside(e) {
		if (!wrap.contains(e.target))
			close(false);
	}
	button.addEventListener('click', () => (menu.hidden ? open() : close()));
	button.addEventListener('keydown', (e) => {
		if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
			e.preventDefault();
			open(e.key === 'ArrowUp' ? entries.length - 1 : 0);
		}
	});
	menu.addEventListener('keydown', (e) => {
		const i = entries.indexOf(document.activeElement);
		let j = null;
		if (e.key === 'ArrowDown') j = (i + 1) % entries.length;
		else if (e.key === 'ArrowUp') j = (i - 1 + entries.length) % entries.length;
		else if (e.key === 'Home') j = 0;
		else if (e.key === 'End') j = entries.length - 1;
		else if (e.key === 'Escape') { e.preventDefault(); close(); return; }
		else if (e.key === 'Tab') { close(false); return; }
		if (j === null)
			return;
		e.preventDefault();
		entries[j].focus();
	});
	const wrap = h('div', {class: 'menu-wrap'}, button, menu);
	return wrap;
}
