// Enable, disable and delete, confirmed in a dialog and sent with If-Match,
// from the details page and from the list's row menus alike.
import {request, describe, ApiError} from './api.js';
import {announce, alertError} from './dom.js';
import {confirmAction} from './dialogs.js';

export const CONFLICT = 'Someone else changed this API token while you were working on it. ' +
	'Nothing was overwritten: the page now shows the latest version, so check it and try again.';

// run the change; a lost race (412) or a state that changed meanwhile
// (409) is said on the page and the view reloaded, not shown in the dialog
async function change(method, path, etag, reload) {
	try {
		await request(method, path, {etag});
	} catch (e) {
		if (e instanceof ApiError && (e.status === 412 || e.status === 409)) {
			alertError(e.status === 412 ? CONFLICT : describe(e));
			reload();
			e.handled = true;
		} else {
			e.message = describe(e);
		}
		throw e;
	}
}

// token: the object shown; etag: its revision as the server sent it
// ('"3"'); reload(): draw the view again; done(): after success.
export async function toggleToken(token, etag, {opener, reload, done}) {
	const active = token.status === 'Active';
	const action = active ? 'disable' : 'enable';
	alertError('');
	const ok = await confirmAction({
		title: active ? 'Disable API token' : 'Enable API token',
		text: active
			? `Programs using "${token.name}" will be refused until it is enabled again.`
			: `"${token.name}" will work again for the modules it holds.`,
		confirm: active ? 'Disable' : 'Enable',
		run: () => change('POST', `/${encodeURIComponent(token.id)}/${action}`, etag, reload),
		opener,
	});
	if (ok) {
		announce(active ? 'API token disabled.' : 'API token enabled.');
		done();
	}
}

export async function deleteToken(token, etag, {opener, reload, done}) {
	alertError('');
	const ok = await confirmAction({
		title: 'Delete API token',
		text: `Delete "${token.name}" (${token.id})? Programs using it are refused at once. This cannot be undone.`,
		confirm: 'Delete', danger: true,
		run: () => change('DELETE', `/${encodeURIComponent(token.id)}`, etag, reload),
		opener,
	});
	if (ok) {
		announce(`API token ${token.id} deleted.`);
		done();
	}
}

// The statuses that can be switched on and off.
export const toggles = (status) => status === 'Active' || status === 'Disabled';
