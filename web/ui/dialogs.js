// Modal dialogs on <dialog>: showModal() keeps focus inside and Escape
// closes; focus goes back to the control that opened the dialog.
import {h} from './dom.js';

// opener: the control to return to (default: the focused one).  When the
// view behind has been drawn anew meanwhile, its namesake (same id) takes
// the focus.
export function openDialog(dialog, {initialFocus, opener} = {}) {
	opener = opener || document.activeElement;
	document.body.append(dialog);
	dialog.addEventListener('close', () => {
		dialog.remove();
		let target = opener;
		if (target && !target.isConnected)
			target = target.id ? document.getElementById(target.id) : null;
		if (target && typeof target.focus === 'function')
			target.focus();
	}, {once: true});
	dialog.showModal();
	const first = initialFocus || dialog.querySelector('[autofocus], input, select, textarea, button');
	first?.focus();
	return dialog;
}

// A dialog with a title, a body and buttons; labelled by its heading.
let seq = 0;
export function dialogShell(title, {wide} = {}) {
	const id = `dlg-${++seq}`;
	const body = h('div', {class: 'dialog-body'});
	const actions = h('div', {class: 'dialog-actions'});
	const heading = h('h2', {id: `${id}-title`}, title);
	const dialog = h('dialog', {class: wide ? 'wide' : null, 'aria-labelledby': `${id}-title`},
		h('form', {method: 'dialog', class: 'dialog-form', novalidate: true},
			h('div', {class: 'dialog-head'}, heading,
				h('button', {type: 'button', class: 'icon-button', 'aria-label': 'Close',
					onclick: () => dialog.close('cancel')}, '×')),
			body, actions));
	return {dialog, body, actions, heading, form: dialog.querySelector('form')};
}

// confirmAction({title, text, confirm: 'Delete', danger, run}) resolves true
// once run() succeeded, false when the person cancelled.  run's error is
// shown in the dialog, which stays open.
export function confirmAction({title, text, confirm, danger, run, opener}) {
	return new Promise((resolve) => {
		const {dialog, body, actions} = dialogShell(title);
		const error = h('p', {class: 'form-error', role: 'alert', hidden: true});
		body.append(h('p', {}, text), error);
		const cancel = h('button', {type: 'button', class: 'button secondary',
			onclick: () => dialog.close('cancel')}, 'Cancel');
		const ok = h('button', {type: 'submit', class: `button ${danger ? 'danger' : 'primary'}`}, confirm);
		actions.append(cancel, ok);
		let done = false;
		dialog.querySelector('form').addEventListener('submit', async (ev) => {
			ev.preventDefault();
			ok.disabled = cancel.disabled = true;
			ok.setAttribute('aria-busy', 'true');
			try {
				await run();
				done = true;
				dialog.close('ok');
			} catch (e) {
				if (e?.handled) {
					// the caller has said what happened (e.g. a lost race)
					dialog.close('cancel');
					return;
				}
				error.hidden = false;
				error.textContent = e.message;
			} finally {
				ok.disabled = cancel.disabled = false;
				ok.removeAttribute('aria-busy');
			}
		});
		openDialog(dialog, {initialFocus: cancel, opener});
		// after openDialog's own listener has given the focus back, so that
		// what the caller does next starts from there
		dialog.addEventListener('close', () => resolve(done), {once: true});
	});
}
