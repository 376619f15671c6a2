// The "Add API token" wizard (General, Modules, Overview, Summary) and the
// "Edit API token" dialog.
import {request, describe, iconUrl, ApiError} from './api.js';
import {h, clear, announce} from './dom.js';
import {dialogShell, openDialog} from './dialogs.js';
import {field, logoField, moduleChooser, secretField} from './widgets.js';

// Views re-render on this event after a change.
export function changed() {
	window.dispatchEvent(new Event('tokens-changed'));
}

async function grantable() {
	const {data} = await request('GET', '/modules');
	return data.data;
}

function generalFields(values = {}) {
	const name = field('API token name', h('input', {type: 'text', name: 'name', required: true,
		'aria-required': 'true', maxlength: 200, autocomplete: 'off', value: values.name || ''}), {name: 'name'});
	const description = field('Description (optional)', h('textarea', {name: 'description',
		rows: 3, maxlength: 2000}, values.description || ''), {name: 'description'});
	return {name, description};
}

const STEPS = ['General', 'Modules', 'Overview', 'Summary'];

export function openCreateWizard() {
	const {dialog, body, actions, form} = dialogShell('Add API token', {wide: true});
	dialog.id = 'create-wizard';
	const steps = h('ol', {class: 'steps', 'aria-label': 'Steps'});
	const panel = h('div', {class: 'step-panel', tabindex: '-1'});
	const error = h('p', {class: 'form-error', role: 'alert', hidden: true});
	body.append(steps, error, panel);

	const {name, description} = generalFields();
	const logo = logoField();
	let chooser = null;
	let modules = null;
	let step = 0;
	let created = null;	// the 201 body, with the value, until the dialog closes

	const close = h('button', {type: 'button', class: 'button secondary', onclick: () => dialog.close()}, 'Close');
	const back = h('button', {type: 'button', class: 'button secondary', onclick: () => show(step - 1)}, 'Back');
	const nextBtn = h('button', {type: 'submit', class: 'button primary'}, 'Next');
	const details = h('button', {type: 'button', class: 'button primary', onclick: () => {
		const id = created.id;
		dialog.close();
		location.hash = `#/tokens/${encodeURIComponent(id)}`;
	}}, 'View details');
	actions.append(close, back, nextBtn, details);

	function say(text) {
		error.hidden = !text;
		error.textContent = text || '';
	}

	function show(n) {
		step = n;
		clear(steps, STEPS.map((s, i) => h('li', {class: i === n ? 'current' : i < n ? 'done' : null,
			'aria-current': i === n ? 'step' : null}, h('span', {class: 'step-no'}, String(i + 1)), ' ', s)));
		back.hidden = n === 0 || n === 3;
		nextBtn.hidden = n === 3;
		details.hidden = n !== 3;
		close.textContent = n === 3 ? 'Close' : 'Cancel';
		nextBtn.textContent = n === 2 ? 'Add' : 'Next';
		dialog.dataset.step = STEPS[n].toLowerCase();
		const heading = h('h3', {class: 'step-title', tabindex: '-1'}, `Step ${n + 1} of 4: ${STEPS[n]}`);
		if (n === 0)
			clear(panel, heading, logo.el, name.el, description.el);
		else if (n === 1)
			clear(panel, heading, chooser ? chooser.el : h('p', {class: 'loading'}, 'Loading modules…'));
		else if (n === 2)
			clear(panel, heading, overview());
		else
			clear(panel, heading, summary());
		// the first field of the step, or its heading, takes the focus
		(n === 0 ? name.control : heading).focus();
	}

	function overview() {
		const file = logo.get();
		const mods = chooser.get();
		return h('dl', {class: 'facts'},
			h('dt', {}, 'Name'), h('dd', {}, name.control.value.trim()),
			h('dt', {}, 'Logo'), h('dd', {}, file ? h('img', {class: 'logo-preview', alt: 'Logo', src: URL.createObjectURL(file)}) : '—'),
			h('dt', {}, 'Description'), h('dd', {}, description.control.value.trim() || '—'),
			h('dt', {}, 'Modules'), h('dd', {}, mods.length
				? h('ul', {class: 'plain'}, mods.map((m) => h('li', {}, m.name, ' ', h('span', {class: 'id'}, m.id))))
				: 'None'));
	}

	function summary() {
		return h('div', {class: 'summary'},
			h('p', {class: 'success'}, 'This API token has been created successfully.'),
			h('div', {class: 'card'},
				h('p', {}, h('strong', {}, created.name), ' ', h('span', {class: 'id'}, created.id)),
				created.modules?.length ? h('ul', {class: 'plain'}, created.modules.map((m) => h('li', {}, m.name, ' ', h('span', {class: 'id'}, m.id)))) : h('p', {class: 'muted'}, 'No modules')),
			h('div', {class: 'warning', role: 'note'},
				h('strong', {}, 'Copy the token now. '),
				'Anyone who has it can use the API as this account: keep it like a password. ',
				'Depending on the server\'s settings it may not be shown again.'),
			secretField({id: created.id, getValue: async () => created.token}),
			created.iconError ? h('p', {class: 'form-error'}, `The logo was not saved: ${created.iconError}`) : null);
	}

	async function add() {
		const body = {name: name.control.value.trim()};
		const desc = description.control.value.trim();
		if (desc)
			body.description = desc;
		body.modules = chooser.get().map((m) => ({id: m.id}));
		const resp = await request('POST', '', {json: body});
		created = resp.data;
		const file = logo.get();
		if (file) {
			try {
				await request('PUT', `/${encodeURIComponent(created.id)}/icon`, {blob: file, etag: resp.etag});
			} catch (e) {
				created.iconError = describe(e);
			}
		}
		changed();
	}

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		say('');
		if (step === 0) {
			name.setError(null);
			if (!name.control.value.trim()) {
				name.setError('Enter a name for the token.');
				name.control.focus();
				return;
			}
			if (!modules) {
				nextBtn.disabled = true;
				try {
					modules = await grantable();
					chooser = moduleChooser(modules);
				} catch (e) {
					say(describe(e));
					return;
				} finally {
					nextBtn.disabled = false;
				}
			}
			show(1);
		} else if (step === 1) {
			show(2);
		} else if (step === 2) {
			nextBtn.disabled = back.disabled = true;
			nextBtn.setAttribute('aria-busy', 'true');
			try {
				await add();
				show(3);
				announce('API token created.');
			} catch (e) {
				if (e instanceof ApiError && e.status === 400 && Object.keys(e.errors).length) {
					// back to the step of the first field named, its message next to it
					const errs = e.errors;
					name.setError(errs.name);
					description.setError(errs.description);
					chooser.setError(errs.modules);
					if (errs.name || errs.description) {
						show(0);
						(errs.name ? name : description).control.focus();
					} else if (errs.modules) {
						show(1);
					}
					const rest = Object.keys(errs).filter((k) => !['name', 'description', 'modules'].includes(k));
					if (rest.length)
						say(describe(e));
				} else {
					say(describe(e));
				}
			} finally {
				nextBtn.disabled = back.disabled = false;
				nextBtn.removeAttribute('aria-busy');
			}
		}
	});
	dialog.addEventListener('close', () => { created = null; }, {once: true});
	openDialog(dialog);
	show(0);
}

// The edit dialog: name, description, logo, modules; saved as a delta with
// If-Match.  onConflict() runs when someone else changed the token first
// (412): nothing is overwritten.
export async function openEditDialog(token, etag, {onSaved, onConflict, opener}) {
	const modules = await grantable();
	// modules the token has but the caller may not grant stay as they are
	const held = token.modules || [];
	const known = new Map(modules.map((m) => [m.id, m]));
	const all = modules.concat(held.filter((m) => !known.has(m.id)));
	const {dialog, body, actions, form} = dialogShell('Edit API token', {wide: true});
	dialog.id = 'edit-dialog';
	const error = h('p', {class: 'form-error', role: 'alert', hidden: true});
	const {name, description} = generalFields(token);
	const logo = logoField({currentUrl: token.icon ? `${iconUrl(token.id)}?v=${token.revision}` : null});
	const chooser = moduleChooser(all, held.map((m) => m.id));
	body.append(error,
		h('fieldset', {}, h('legend', {}, 'General'), logo.el, name.el, description.el),
		chooser.el);
	const cancel = h('button', {type: 'button', class: 'button secondary', onclick: () => dialog.close()}, 'Cancel');
	const save = h('button', {type: 'submit', class: 'button primary'}, 'Save');
	actions.append(cancel, save);

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		error.hidden = true;
		for (const f of [name, description, logo, chooser])
			f.setError(null);
		// a delta: only what changed
		const delta = {};
		const newName = name.control.value.trim();
		const newDesc = description.control.value.trim();
		if (newName !== token.name)
			delta.name = newName;
		if (newDesc !== (token.description || ''))
			delta.description = newDesc;
		const ids = chooser.get().map((m) => m.id).sort();
		if (ids.join() !== held.map((m) => m.id).sort().join())
			delta.modules = ids.map((id) => ({id}));
		const file = logo.get();
		if (file === '')
			delta.icon = '';
		save.disabled = cancel.disabled = true;
		save.setAttribute('aria-busy', 'true');
		try {
			let tag = etag;
			let saved = token;
			if (Object.keys(delta).length) {
				const r = await request('PUT', `/${encodeURIComponent(token.id)}`, {json: delta, etag: tag});
				tag = r.etag;
				saved = r.data;
			}
			if (file) {
				try {
					const r = await request('PUT', `/${encodeURIComponent(token.id)}/icon`, {blob: file, etag: tag});
					saved = r.data;
				} catch (e) {
					if (e.status === 412)
						throw e;
					logo.setError(e.errors?.icon || describe(e));
					etag = tag;
					token = saved;
					return;
				}
			}
			dialog.close();
			announce('Changes saved.');
			onSaved(saved);
		} catch (e) {
			if (e instanceof ApiError && e.status === 412) {
				dialog.close();
				onConflict();
			} else if (e instanceof ApiError && e.status === 400 && Object.keys(e.errors).length) {
				name.setError(e.errors.name);
				description.setError(e.errors.description);
				chooser.setError(e.errors.modules);
				logo.setError(e.errors.icon);
				const first = e.errors.name ? name.control : e.errors.description ? description.control : null;
				first?.focus();
				const rest = Object.keys(e.errors).filter((k) => !['name', 'description', 'modules', 'icon'].includes(k));
				if (rest.length) {
					error.hidden = false;
					error.textContent = describe(e);
				}
			} else {
				error.hidden = false;
				error.textContent = describe(e);
			}
		} finally {
			save.disabled = cancel.disabled = false;
			save.removeAttribute('aria-busy');
		}
	});
	openDialog(dialog, {initialFocus: name.control, opener});
}
