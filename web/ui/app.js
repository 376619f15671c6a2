// The settings page for API tokens: a hash router over the list and the
// details views.  No framework and no build step: ES modules as they are.
import {renderList} from './list.js';
import {renderDetails} from './details.js';
import {alertError} from './dom.js';

const main = document.getElementById('main');
const TOKEN_ROUTE = /^#\/tokens\/(TKN-\d{4}-\d{4})(?:\/(\w+))?$/;
let lastRoute = null;

function route() {
	const hash = location.hash || '#/';
	const m = hash.match(TOKEN_ROUTE);
	const key = m ? `token:${m[1]}` : 'list';
	// a new view starts without the previous view's error, and with focus
	// on the page (so screen readers start reading it)
	if (key !== lastRoute) {
		alertError('');
		main.focus({preventScroll: true});
		window.scrollTo(0, 0);
	}
	lastRoute = key;
	if (m) {
		renderDetails(main, m[1], m[2]);
	} else {
		const q = hash.indexOf('?');
		renderList(main, new URLSearchParams(q >= 0 ? hash.slice(q + 1) : ''));
	}
}

window.addEventListener('hashchange', route);
window.addEventListener('tokens-changed', () => {
	// the list behind the wizard shows the new token
	if (!TOKEN_ROUTE.test(location.hash))
		route();
});
route();
