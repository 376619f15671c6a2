// End-to-end tests of the settings page (web/) in headless Chromium, against
// a running stack (tests/integration/test_browser.py starts one and runs
// this file).  Debian's /usr/bin/chromium, driven by playwright-core: no
// browser is downloaded.
//
//   node tests/browser/e2e.mjs URL USER PASSWORD
//
// URL is the stack's base (http://127.0.0.1:PORT), USER and PASSWORD the
// settings mount's login (a Client admin).  Environment:
//   APITOKEND_PROTECTED_URL   the example API the tokens guard (required)
//   APITOKEND_PROTECTED_MODULE  the module that grants it (required)
//   APITOKEND_CLIENT_USER     a user of the same account without Access
//                             Management (required)
//   APITOKEND_SCREENSHOT_DIR  where the screenshots go (default: none taken)
//   CHROMIUM                  the browser (default /usr/bin/chromium)
//
// axe-core (from npm, pinned too) checks the accessibility of each view.
// Any console error or uncaught page error fails the run, except the HTTP
// errors a flow provokes on purpose (a 400 or a 412 it asks for), which
// Chromium reports on the console as "Failed to load resource".
import {chromium} from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';
import zlib from 'node:zlib';

const [base, user, password] = process.argv.slice(2);
if (!base || !user || !password) {
	console.error('usage: node e2e.mjs URL USER PASSWORD');
	process.exit(2);
}
const PROTECTED_URL = process.env.APITOKEND_PROTECTED_URL;
const PROTECTED_MODULE = process.env.APITOKEND_PROTECTED_MODULE;
assert.ok(PROTECTED_URL && PROTECTED_MODULE, 'APITOKEND_PROTECTED_URL and APITOKEND_PROTECTED_MODULE are required');
const PLAIN_USER = process.env.APITOKEND_CLIENT_USER;
assert.ok(PLAIN_USER, 'APITOKEND_CLIENT_USER is required');
const SHOTS = process.env.APITOKEND_SCREENSHOT_DIR || '';
const PAGE = `${base}/settings/api-tokens/`;
const API = `${base}/settings/api-tokens`;
const TOKEN_RE = /^idt:(TKN-\d{4}-\d{4}):[A-Za-z0-9]{64}$/;
const BASIC = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

// --- the API behind the page's back ------------------------------------

async function api(method, p, body, headers = {}) {
	const resp = await fetch(API + p, {
		method,
		headers: {Authorization: BASIC, Accept: 'application/json',
			...(body ? {'Content-Type': 'application/json'} : {}), ...headers},
		body: body ? JSON.stringify(body) : undefined,
	});
	const text = await resp.text();
	return {status: resp.status, etag: resp.headers.get('ETag'), body: text ? JSON.parse(text) : null};
}

async function guarded(value) {
	const resp = await fetch(PROTECTED_URL, {headers: {Authorization: `Bearer ${value}`}});
	const text = await resp.text();
	return {status: resp.status, body: text};
}

// A 48x48 PNG (a blue square with a lighter band) made here, so the test
// needs no image file.
function png() {
	const crcTable = Array.from({length: 256}, (_, n) => {
		let c = n;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		return c >>> 0;
	});
	const crc = (buf) => {
		let c = 0xffffffff;
		for (const b of buf)
			c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
		return (c ^ 0xffffffff) >>> 0;
	};
	const chunk = (type, data) => {
		const len = Buffer.alloc(4);
		len.writeUInt32BE(data.length);
		const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
		const c = Buffer.alloc(4);
		c.writeUInt32BE(crc(td));
		return Buffer.concat([len, td, c]);
	};
	const w = 48, hgt = 48;
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(hgt, 4);
	ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
	const rows = [];
	for (let y = 0; y < hgt; y++) {
		const row = Buffer.alloc(1 + w * 3);
		for (let x = 0; x < w; x++) {
			const band = y > 18 && y < 30;
			row.set(band ? [0x8f, 0xb0, 0xff] : [0x23, 0x51, 0xc6], 1 + x * 3);
		}
		rows.push(row);
	}
	return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

// --- the browser ---------------------------------------------------------

// Playwright's launch gives the browser a fresh profile (user-data-dir) in a
// temporary directory of its own and removes it on close.
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	// as root Chromium needs --no-sandbox; the rest keeps it off the network
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failures = 0;
let passed = 0;
const problems = [];
let allowed = [];	// [{status, url}] HTTP errors a flow provokes on purpose

function watch(page, label) {
	page.on('console', (msg) => {
		if (msg.type() !== 'error')
			return;
		const text = msg.text();
		const url = msg.location()?.url || '';
		const m = text.match(/status of (\d{3})/);
		if (m && allowed.some((a) => a.status === Number(m[1]) && url.startsWith(a.url)))
			return;
		problems.push(`${label}: console error: ${text} ${url}`);
	});
	page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`));
}

async function context(viewport) {
	const ctx = await browser.newContext({
		viewport, httpCredentials: {username: user, password, origin: base},
		// the page's clipboard: the Copy buttons write, the test reads
		permissions: ['clipboard-read', 'clipboard-write'],
		reducedMotion: 'reduce',
	});
	await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], {origin: base});
	return ctx;
}

async function shot(page, name) {
	if (!SHOTS)
		return;
	fs.mkdirSync(SHOTS, {recursive: true});
	// the screenshots show no time of their own: the spinner is stopped
	await page.screenshot({path: path.join(SHOTS, `${name}.png`), fullPage: false});
}

async function flow(name, fn) {
	if (failures)
		return;	// the flows build on each other: the first failure says it
	const start = Date.now();
	const before = problems.length;
	try {
		await fn();
		if (problems.length > before)
			throw new Error(problems.slice(before).join('\n'));
		passed++;
		console.log(`ok - ${name} (${Date.now() - start} ms)`);
	} catch (e) {
		failures++;
		console.log(`not ok - ${name}\n${String(e.stack || e).replace(/^/gm, '    ')}`);
		if (SHOTS && currentPage && !currentPage.isClosed())
			await currentPage.screenshot({path: path.join(SHOTS, `FAILED-${name.replace(/\W+/g, '-')}.png`)}).catch(() => {});
	} finally {
		allowed = [];
	}
}

let currentPage = null;

async function noHorizontalOverflow(page, what) {
	const {scroll, width} = await page.evaluate(() => ({
		scroll: document.documentElement.scrollWidth, width: window.innerWidth}));
	assert.ok(scroll <= width, `${what}: the page is ${scroll}px wide in a ${width}px window`);
}

// --- data for a list worth looking at -------------------------------------

const seeded = ['Billing export', 'Reporting dashboard', 'Nightly backup', 'Partner sync',
	'Helpdesk "EU" bridge', 'Invoice mailer', 'License audit', 'Order intake', 'Staging deploy',
	'Usage metrics', 'Warehouse feed'];
for (const [i, name] of seeded.entries()) {
	const r = await api('POST', '', {name, description: `${name} for the operations team`,
		modules: [{id: PROTECTED_MODULE}]});
	assert.equal(r.status, 201, JSON.stringify(r.body));
	if (i % 4 === 1)
		assert.equal((await api('POST', `/${r.body.id}/disable`)).status, 200);
}

const ctx = await context({width: 1440, height: 900});
const page = await ctx.newPage();
page.setDefaultTimeout(10000);
currentPage = page;
watch(page, '1440');
const tablist = () => page.getByRole('tablist', {name: 'API token'});

let value = null;
let tid = null;
const NAME = 'CI pipeline';

await flow('the list shows the demo account\'s tokens', async () => {
	await page.goto(PAGE);
	await page.getByRole('heading', {level: 1, name: 'API tokens'}).waitFor();
	const table = page.locator('#tokens');
	await table.locator('tbody tr[data-id]').first().waitFor();
	await page.locator('#tokens:not([aria-busy])').waitFor();
	// newest first: the last token made leads
	assert.equal(await table.locator('tbody tr[data-id] .token-name').first().textContent(), 'Warehouse feed');
	assert.equal(await table.locator('tbody tr[data-id]').count(), 10, 'the first page holds 10 rows');
	assert.match(await page.locator('#page-info').textContent(), /^1–10 of \d+ rows · Page 1 of 2$/);
	await shot(page, 'list');
});

await flow('search, status filter, sorting and paging go to the server', async () => {
	const seen = [];
	const onReq = (r) => { if (r.url().startsWith(API + '?')) seen.push(decodeURIComponent(r.url())); };
	page.on('request', onReq);
	const rows = page.locator('#tokens tbody tr[data-id]');
	const settle = () => page.locator('#tokens:not([aria-busy])').waitFor();
	await page.getByLabel('Search').fill('demo');
	await page.waitForFunction(() => location.hash.includes('q=demo'));
	await settle();
	assert.deepEqual((await rows.locator('.token-name').allTextContents()).sort(),
		['Client admin (demo)', 'Client integration (demo)']);
	assert.ok(seen.some((u) => u.includes('ilike(name,"*demo*")')), seen.join('\n'));
	// quotes and stars are searched for literally
	await page.getByLabel('Search').fill('"EU"');
	await page.waitForFunction(() => location.hash.includes('q=%22EU%22'));
	await settle();
	assert.deepEqual(await rows.locator('.token-name').allTextContents(), ['Helpdesk "EU" bridge']);
	assert.equal(await rows.locator('.avatar').textContent(), 'HE', 'initials are letters');
	await page.getByLabel('Search').fill('*');
	await page.waitForFunction(() => location.hash.includes('q=*'));
	await settle();
	assert.equal(await rows.count(), 0);
	assert.equal(await page.locator('#tokens td.empty').textContent(), 'No API token matches.');
	await page.getByLabel('Search').fill('');
	await page.waitForFunction(() => !location.hash.includes('q='));
	await page.getByLabel('Status').selectOption('Disabled');
	await page.waitForFunction(() => location.hash.includes('status=Disabled'));
	await settle();
	const statuses = await rows.locator('.badge').allTextContents();
	assert.ok(statuses.length >= 3 && statuses.every((s) => s === 'Disabled'), statuses.join());
	assert.ok(seen.some((u) => u.includes('eq(status,"Disabled")')));
	await page.getByLabel('Status').selectOption('');
	await page.waitForFunction(() => !location.hash.includes('status='));
	await settle();
	// sort by name: ascending, then descending
	await page.getByRole('button', {name: /^API token/}).click();
	await page.waitForFunction(() => location.hash.includes('order=%2Bname'));
	await settle();
	assert.equal(await page.locator('th:has(button[data-sort=name])').getAttribute('aria-sort'), 'ascending');
	const asc = await rows.locator('.token-name').allTextContents();
	assert.deepEqual(asc, [...asc].sort((a, b) => a.localeCompare(b, 'en', {sensitivity: 'base'})));
	assert.equal(asc[0], 'Billing export');
	await page.getByRole('button', {name: /^API token/}).click();
	await page.waitForFunction(() => location.hash.includes('order=-name'));
	await settle();
	assert.equal(await page.locator('th:has(button[data-sort=name])').getAttribute('aria-sort'), 'descending');
	assert.equal((await rows.locator('.token-name').allTextContents())[0], 'Warehouse feed');
	// the second page
	await page.getByRole('button', {name: 'Next'}).click();
	await page.waitForFunction(() => location.hash.includes('offset=10'));
	await settle();
	assert.match(await page.locator('#page-info').textContent(), /^11–\d+ of \d+ rows · Page 2 of 2$/);
	assert.ok(seen.some((u) => u.includes('order=-name') && u.includes('limit=10') && u.includes('offset=10')));
	assert.ok(await page.getByRole('button', {name: 'Next'}).isDisabled());
	page.off('request', onReq);
	await page.goto(PAGE);
	await settle();
});

await flow('row menus: keyboard operable, enable and disable from the list', async () => {
	const settle = () => page.locator('#tokens:not([aria-busy])').waitFor();
	await settle();
	const rowOf = (name) => page.locator('#tokens tbody tr[data-id]', {has: page.getByRole('link', {name, exact: true})});
	const id = await rowOf('Usage metrics').getAttribute('data-id');
	const button = page.locator(`#actions-${id}`);
	assert.equal(await button.getAttribute('aria-label'), 'Actions for Usage metrics');
	assert.equal(await button.getAttribute('aria-expanded'), 'false');
	await button.focus();
	await page.keyboard.press('Enter');
	const menu = page.getByRole('menu', {name: 'Actions for Usage metrics'});
	await menu.waitFor();
	assert.equal(await button.getAttribute('aria-expanded'), 'true');
	assert.deepEqual(await menu.getByRole('menuitem').allTextContents(), ['Edit', 'Enable', 'Delete']);
	await shot(page, 'list-menu');
	const focusedText = () => page.evaluate(() => document.activeElement.textContent);
	assert.equal(await focusedText(), 'Edit');
	await page.keyboard.press('End');
	assert.equal(await focusedText(), 'Delete');
	await page.keyboard.press('ArrowDown');
	assert.equal(await focusedText(), 'Edit', 'the arrows wrap around');
	await page.keyboard.press('Escape');
	await menu.waitFor({state: 'hidden'});
	assert.equal(await page.evaluate(() => document.activeElement.id), `actions-${id}`);
	// ArrowDown opens it too; Enable, confirmed
	await page.keyboard.press('ArrowDown');
	await menu.waitFor();
	await page.keyboard.press('ArrowDown');
	assert.equal(await focusedText(), 'Enable');
	await page.keyboard.press('Enter');
	const dlg = page.getByRole('dialog', {name: 'Enable API token'});
	await dlg.waitFor();
	await dlg.getByRole('button', {name: 'Enable'}).click();
	await page.locator('#status', {hasText: 'API token enabled.'}).waitFor();
	await rowOf('Usage metrics').locator('.badge', {hasText: 'Active'}).waitFor();
	await settle();
	assert.equal(await page.evaluate(() => document.activeElement.id), `actions-${id}`,
		'the focus is back on the row\'s menu button');
	assert.equal((await api('GET', `/${id}`)).body.status, 'Active');
	// Edit from the menu opens the form with the token; Disable again
	await button.click();
	await menu.getByRole('menuitem', {name: 'Edit'}).click();
	const edit = page.getByRole('dialog', {name: 'Edit API token'});
	await edit.waitFor();
	assert.equal(await edit.getByLabel('API token name').inputValue(), 'Usage metrics');
	assert.ok(await edit.locator(`input[type=checkbox][value=${PROTECTED_MODULE}]`).isChecked());
	await edit.getByRole('button', {name: 'Cancel'}).click();
	await button.click();
	await menu.getByRole('menuitem', {name: 'Disable'}).click();
	await page.getByRole('dialog', {name: 'Disable API token'}).getByRole('button', {name: 'Disable'}).click();
	await rowOf('Usage metrics').locator('.badge', {hasText: 'Disabled'}).waitFor();
	assert.equal((await api('GET', `/${id}`)).body.status, 'Disabled');
});

await flow('the wizard closes on Escape and gives the focus back', async () => {
	const add = page.getByRole('button', {name: 'Add API token'});
	await add.focus();
	await add.press('Enter');
	const dlg = page.getByRole('dialog', {name: 'Add API token'});
	await dlg.waitFor();
	assert.equal(await page.evaluate(() => document.activeElement.name), 'name', 'focus is on the name field');
	await page.keyboard.press('Escape');
	await dlg.waitFor({state: 'detached'});
	assert.equal(await page.evaluate(() => document.activeElement.id), 'add-token');
});

await flow('create: a wizard of four steps, the value shown once and copied', async () => {
	await page.getByRole('button', {name: 'Add API token'}).click();
	const dlg = page.getByRole('dialog', {name: 'Add API token'});
	await dlg.waitFor();
	// an empty name stays on the first step, with the message next to the field
	await dlg.getByRole('button', {name: 'Next'}).click();
	const nameBox = dlg.getByLabel('API token name');
	assert.equal(await nameBox.getAttribute('aria-invalid'), 'true');
	assert.match(await dlg.locator('.field[data-field=name] .field-error').textContent(), /Enter a name/);
	await dlg.locator('input[type=file]').setInputFiles({name: 'logo.png', mimeType: 'image/png', buffer: png()});
	// a name the server refuses (a slash), corrected after the Add below
	await nameBox.fill('CI/CD pipeline');
	await dlg.getByLabel('Description (optional)').fill('Deploys from the build server');
	await dlg.locator('.logo-preview:not([hidden])').waitFor();
	await shot(page, 'wizard-1-general');
	await dlg.getByRole('button', {name: 'Next'}).click();
	await dlg.locator(`input[type=checkbox][value=${PROTECTED_MODULE}]`).check();
	await dlg.getByRole('checkbox', {name: /Billing/}).check();
	await shot(page, 'wizard-2-modules');
	await dlg.getByRole('button', {name: 'Next'}).click();
	await dlg.getByText('Step 3 of 4: Overview').waitFor();
	assert.ok(await dlg.getByText(PROTECTED_MODULE).isVisible());
	await shot(page, 'wizard-3-overview');
	// the server refuses the name: back on the first step, its message next to it
	allowed = [{status: 400, url: API}];
	await dlg.getByRole('button', {name: 'Add'}).click();
	const nameError = dlg.locator('.field[data-field=name] .field-error');
	await nameError.waitFor({state: 'visible'});
	assert.match(await nameError.textContent(), /letters, digits/);
	await dlg.getByText('Step 1 of 4: General').waitFor();
	assert.equal(await page.evaluate(() => document.activeElement.name), 'name', 'focus is on the field');
	assert.equal((await api('GET', `?${encodeURIComponent('eq(name,"CI/CD pipeline")')}&limit=0`)).body.$meta.pagination.total, 0);
	await nameBox.fill(NAME);
	await dlg.getByRole('button', {name: 'Next'}).click();
	await dlg.getByRole('button', {name: 'Next'}).click();
	await dlg.getByRole('button', {name: 'Add'}).click();
	await dlg.getByText('This API token has been created successfully.').waitFor();
	const masked = await dlg.locator('output.secret').textContent();
	assert.match(masked, /^idt:TKN-\d{4}-\d{4}:•+$/);
	tid = masked.split(':')[1];
	await shot(page, 'wizard-4-summary');
	await dlg.getByRole('button', {name: 'Copy'}).click();
	await page.locator('#status', {hasText: 'copied to the clipboard'}).waitFor();
	value = await page.evaluate(() => navigator.clipboard.readText());
	assert.match(value, TOKEN_RE);
	assert.equal(value.split(':')[1], tid);
	const show = dlg.getByRole('button', {name: 'Show'});
	await show.click();
	await dlg.getByRole('button', {name: 'Hide'}).waitFor();
	assert.equal(await dlg.locator('output.secret').textContent(), value);
	// what the server holds
	const got = await api('GET', `/${tid}`);
	assert.equal(got.status, 200);
	assert.equal(got.body.name, NAME);
	assert.equal(got.body.description, 'Deploys from the build server');
	assert.ok(got.body.icon, 'the logo was uploaded');
	assert.deepEqual(got.body.modules.map((m) => m.id).sort(), [PROTECTED_MODULE, 'MOD-1239'].sort());
	await dlg.getByRole('button', {name: 'View details'}).click();
	await page.getByRole('heading', {level: 1, name: NAME}).waitFor();
});

await flow('the copied value works through the guarded API', async () => {
	const r = await guarded(value);
	assert.equal(r.status, 200, r.body);
	assert.equal(JSON.parse(r.body).tokenId, tid);
});

await flow('details: four tabs, keyboard operable, value shown and audited', async () => {
	await page.goto(`${PAGE}#/tokens/${tid}`);
	await page.getByRole('heading', {level: 1, name: NAME}).waitFor();
	const tabs = tablist().getByRole('tab');
	assert.deepEqual(await tabs.allTextContents(), ['General', 'Modules', 'Details', 'Audit trail']);
	const panel = page.getByRole('tabpanel');
	// General: reveal (audited) and hide
	await panel.getByRole('button', {name: 'Show'}).click();
	await panel.getByRole('button', {name: 'Hide'}).waitFor();
	assert.equal(await panel.locator('output.secret').textContent(), value);
	await panel.getByRole('button', {name: 'Hide'}).click();
	assert.match(await panel.locator('output.secret').textContent(), /•/);
	assert.ok(!(await page.content()).includes(value.split(':')[2]), 'a hidden value left the DOM');
	await page.locator('img.avatar').first().waitFor();
	assert.ok(await page.locator('.token-head img.avatar').evaluate((img) => img.complete && img.naturalWidth === 48),
		'the logo loads');
	await shot(page, 'details-general');
	// keyboard: arrows move between the tabs
	await page.getByRole('tab', {name: 'General'}).focus();
	await page.keyboard.press('ArrowRight');
	assert.equal(await page.getByRole('tab', {name: 'Modules'}).getAttribute('aria-selected'), 'true');
	assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Modules');
	assert.deepEqual((await panel.locator('tbody td:first-child').allTextContents()).sort(),
		['Billing', (await api('GET', `/${tid}`)).body.modules.find((m) => m.id === PROTECTED_MODULE).name].sort());
	await shot(page, 'details-modules');
	await page.keyboard.press('ArrowRight');
	assert.equal(await page.getByRole('tab', {name: 'Details'}).getAttribute('aria-selected'), 'true');
	for (const label of ['Created', 'Updated', 'Last access', 'Revision'])
		assert.ok(await panel.getByText(label, {exact: true}).isVisible(), label);
	await shot(page, 'details-details');
	await page.keyboard.press('End');
	assert.equal(await page.getByRole('tab', {name: 'Audit trail'}).getAttribute('aria-selected'), 'true');
	await panel.locator('#audit-trail').waitFor();
	const summaries = await panel.locator('#audit-trail tbody td[data-label=Summary]').allTextContents();
	// newest first: the reveal above, the logo, the creation
	assert.match(summaries[0], /revealed/);
	assert.match(summaries[summaries.length - 1], /created/);
	await shot(page, 'details-audit');
	await page.keyboard.press('Home');
	assert.equal(await page.getByRole('tab', {name: 'General'}).getAttribute('aria-selected'), 'true');
});

await flow('edit: a saved change shows at once', async () => {
	await page.getByRole('button', {name: 'Edit'}).click();
	const dlg = page.getByRole('dialog', {name: 'Edit API token'});
	await dlg.waitFor();
	await dlg.getByLabel('API token name').fill('CI pipeline main');
	await dlg.getByLabel('Description (optional)').fill('Deploys main from the build server');
	await dlg.getByRole('button', {name: 'Save'}).click();
	await dlg.waitFor({state: 'detached'});
	await page.getByRole('heading', {level: 1, name: 'CI pipeline main'}).waitFor();
	await page.locator('#status', {hasText: 'Changes saved.'}).waitFor();
	const got = await api('GET', `/${tid}`);
	assert.equal(got.body.name, 'CI pipeline main');
	assert.equal(got.body.description, 'Deploys main from the build server');
});

await flow('a validation error is shown next to its field', async () => {
	const before = await api('GET', `/${tid}`);
	allowed = [{status: 400, url: `${API}/${tid}`}];
	await page.getByRole('button', {name: 'Edit'}).click();
	const dlg = page.getByRole('dialog', {name: 'Edit API token'});
	await dlg.waitFor();
	const nameBox = dlg.getByLabel('API token name');
	await nameBox.fill('CI; drop table');
	await dlg.getByRole('button', {name: 'Save'}).click();
	const err = dlg.locator('.field[data-field=name] .field-error');
	await err.waitFor({state: 'visible'});
	assert.ok((await err.textContent()).length > 5, 'the server\'s message is shown');
	assert.equal(await nameBox.getAttribute('aria-invalid'), 'true');
	assert.ok((await nameBox.getAttribute('aria-describedby')).split(' ').includes(await err.getAttribute('id')),
		'the message describes the field');
	assert.equal(await page.evaluate(() => document.activeElement.name), 'name', 'focus is on the field');
	assert.ok(await dlg.locator('.field[data-field=description] .field-error').isHidden());
	await shot(page, 'edit-validation-error');
	await dlg.getByRole('button', {name: 'Cancel'}).click();
	await dlg.waitFor({state: 'detached'});
	const after = await api('GET', `/${tid}`);
	assert.equal(after.body.name, before.body.name);
	assert.equal(after.body.revision, before.body.revision, 'nothing changed');
});

await flow('disable: confirmed, and the value stops working', async () => {
	await page.getByRole('button', {name: 'Disable'}).click();
	const dlg = page.getByRole('dialog', {name: 'Disable API token'});
	await dlg.waitFor();
	assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel', 'Cancel has the focus');
	await dlg.getByRole('button', {name: 'Disable'}).click();
	await page.locator('.token-head .badge', {hasText: 'Disabled'}).waitFor();
	await page.locator('#status', {hasText: 'API token disabled.'}).waitFor();
	assert.equal(await page.evaluate(() => document.activeElement.id), 'enable-token',
		'the focus is on the control that replaced the one used');
	assert.equal((await api('GET', `/${tid}`)).body.status, 'Disabled');
	assert.equal((await guarded(value)).status, 401);
});

await flow('enable: the value works again', async () => {
	await page.getByRole('button', {name: 'Enable'}).click();
	const dlg = page.getByRole('dialog', {name: 'Enable API token'});
	await dlg.getByRole('button', {name: 'Enable'}).click();
	await page.locator('.token-head .badge', {hasText: 'Active'}).waitFor();
	assert.equal((await api('GET', `/${tid}`)).body.status, 'Active');
	assert.equal((await guarded(value)).status, 200);
});

await flow('412: an edit that lost a race says so and reloads, never overwrites', async () => {
	allowed = [{status: 412, url: `${API}/${tid}`}];
	await page.getByRole('button', {name: 'Edit'}).click();
	const dlg = page.getByRole('dialog', {name: 'Edit API token'});
	await dlg.waitFor();
	await dlg.getByLabel('Description (optional)').fill('the page\'s edit');
	// someone else changes the token meanwhile
	const cur = await api('GET', `/${tid}`);
	const other = await api('PUT', `/${tid}`, {name: 'Renamed elsewhere'}, {'If-Match': cur.etag});
	assert.equal(other.status, 200, JSON.stringify(other.body));
	await dlg.getByRole('button', {name: 'Save'}).click();
	await dlg.waitFor({state: 'detached'});
	await page.locator('#alert', {hasText: 'Someone else changed this API token'}).waitFor();
	await page.waitForFunction(() => document.activeElement.id === 'edit-token');
	// reloaded: the other change shows
	await page.getByRole('heading', {level: 1, name: 'Renamed elsewhere'}).waitFor();
	assert.equal(await page.getByRole('tabpanel').locator('dd').first().textContent(), 'Deploys main from the build server');
	await shot(page, 'details-conflict');
	const got = await api('GET', `/${tid}`);
	assert.equal(got.body.name, 'Renamed elsewhere');
	assert.equal(got.body.description, 'Deploys main from the build server', 'the page overwrote the other change');
	assert.equal(got.body.revision, other.body.revision);
	// after the reload the page edits the latest revision
	await page.getByRole('button', {name: 'Edit'}).click();
	await dlg.waitFor();
	await dlg.getByLabel('API token name').fill('CI pipeline');
	await dlg.getByRole('button', {name: 'Save'}).click();
	await page.getByRole('heading', {level: 1, name: 'CI pipeline'}).waitFor();
	assert.equal((await api('GET', `/${tid}`)).body.name, 'CI pipeline');
});

await flow('a status the API may add later (Expired, expiresAt) shows without a change to the page', async () => {
	// the server's real answers, with the token made Expired on the way
	const expire = async (route) => {
		const resp = await route.fetch();
		const body = await resp.json();
		for (const t of body.data || [body])
			if (t.id === tid)
				Object.assign(t, {status: 'Expired', expiresAt: '2027-01-31T12:00:00.000Z'});
		await route.fulfill({response: resp, json: body});
	};
	const one = (url) => url.pathname === `/settings/api-tokens/${tid}` && !url.search;
	const list = (url) => url.pathname === '/settings/api-tokens';
	await page.route(one, expire);
	await page.route(list, expire);
	try {
		await page.goto(PAGE);
		await page.locator('#tokens:not([aria-busy])').waitFor();
		const badge = page.locator(`#tokens tr[data-id="${tid}"] .badge`);
		assert.equal(await badge.textContent(), 'Expired');
		assert.match(await badge.getAttribute('class'), /badge-expired/);
		await page.goto(`${PAGE}#/tokens/${tid}/details`);
		await page.locator('.token-head .badge', {hasText: 'Expired'}).waitFor();
		// neither Enable nor Disable applies; Edit and Delete still do
		assert.equal(await page.locator('#enable-token, #disable-token').count(), 0);
		assert.ok(await page.locator('#edit-token').isVisible());
		const panel = page.getByRole('tabpanel');
		await panel.getByText('Expires', {exact: true}).waitFor();
		assert.equal(await panel.locator('time[datetime="2027-01-31T12:00:00.000Z"]').count(), 1);
	} finally {
		await page.unroute(one);
		await page.unroute(list);
	}
	await page.goto(`${PAGE}#/tokens/${tid}`);
	await page.locator('.token-head .badge', {hasText: 'Active'}).waitFor();
});

await flow('delete: confirmed, gone from the list, and the value refused', async () => {
	await page.getByRole('button', {name: 'Delete'}).click();
	const dlg = page.getByRole('dialog', {name: 'Delete API token'});
	await dlg.waitFor();
	await shot(page, 'delete-confirm');
	await dlg.getByRole('button', {name: 'Delete'}).click();
	await page.getByRole('heading', {level: 1, name: 'API tokens'}).waitFor();
	await page.locator('#status', {hasText: `API token ${tid} deleted.`}).waitFor();
	await page.locator('#tokens:not([aria-busy]) tbody tr[data-id]').first().waitFor();
	assert.equal(await page.locator(`#tokens tr[data-id="${tid}"]`).count(), 0);
	assert.equal((await api('GET', `/${tid}`)).status, 404);
	assert.equal((await guarded(value)).status, 401);
});

await flow('nothing is stored in the browser', async () => {
	const stored = await page.evaluate(() => ({local: localStorage.length, session: sessionStorage.length,
		cookie: document.cookie}));
	assert.deepEqual(stored, {local: 0, session: 0, cookie: ''});
	assert.deepEqual(await ctx.cookies(), []);
	assert.ok(!(await page.content()).includes(value.split(':')[2]), 'the value is still in the page');
});

await ctx.close();

// --- a phone's width -------------------------------------------------------

const phone = await context({width: 375, height: 812});
const small = await phone.newPage();
small.setDefaultTimeout(10000);
currentPage = small;
watch(small, '375');

await flow('375 px: the list, the details and the wizard fit the width', async () => {
	await small.goto(PAGE);
	await small.locator('#tokens:not([aria-busy]) tbody tr[data-id]').first().waitFor();
	await noHorizontalOverflow(small, 'list');
	// rows are cards with labelled cells
	const cell = small.locator('#tokens tbody tr[data-id] td[data-label="Status"]').first();
	assert.ok((await cell.boundingBox()).width > 300, 'a cell takes the whole card');
	await shot(small, 'list-375');
	// the headers are out of sight: a select sorts
	await small.getByLabel('Sort by').selectOption('+name');
	await small.waitForFunction(() => location.hash.includes('order=%2Bname'));
	await small.locator('#tokens:not([aria-busy]) tbody tr[data-id]').first().waitFor();
	assert.equal(await small.locator('#tokens tbody tr[data-id] .token-name').first().textContent(), 'Billing export');
	assert.equal(await small.getByLabel('Sort by').inputValue(), '+name');
	const first = small.locator('#tokens tbody tr[data-id] a.token-name').first();
	await first.click();
	await small.getByRole('tablist').waitFor();
	await noHorizontalOverflow(small, 'details');
	await small.getByRole('button', {name: 'Show'}).click();
	await small.getByRole('button', {name: 'Hide'}).waitFor();
	await noHorizontalOverflow(small, 'details with the value shown');
	await shot(small, 'details-375');
	await small.getByRole('tab', {name: 'Audit trail'}).click();
	await small.locator('#audit-trail').waitFor();
	await noHorizontalOverflow(small, 'audit trail');
	await small.goto(PAGE);
	await small.getByRole('button', {name: 'Add API token'}).click();
	await small.getByRole('dialog', {name: 'Add API token'}).waitFor();
	await noHorizontalOverflow(small, 'wizard');
	const box = await small.getByRole('dialog').boundingBox();
	assert.ok(box.x >= 0 && box.x + box.width <= 375, 'the dialog fits');
	await shot(small, 'wizard-375');
});

await phone.close();

// --- a user who may not manage tokens -------------------------------------

// The demo login has one password for every user.
const plainCtx = await browser.newContext({viewport: {width: 1440, height: 900},
	httpCredentials: {username: PLAIN_USER, password, origin: base}});
const plain = await plainCtx.newPage();
plain.setDefaultTimeout(10000);
currentPage = plain;
watch(plain, 'plain user');

await flow('without Access Management the page says why, and offers nothing', async () => {
	allowed = [{status: 403, url: API}];
	await plain.goto(PAGE);
	await plain.locator('#alert', {hasText: 'This needs the Access Management module.'}).waitFor();
	await plain.locator('#tokens:not([aria-busy])').waitFor();
	assert.equal(await plain.locator('#tokens tbody tr[data-id]').count(), 0);
	assert.equal(await plain.locator('#tokens td.empty').textContent(), 'The list could not be loaded.');
});

await plainCtx.close();

// --- accessibility: axe-core's rules on every view -------------------------

// axe is injected as a script, which the page's Content-Security-Policy
// refuses: this context alone bypasses it.
const a11yCtx = await browser.newContext({viewport: {width: 1440, height: 900}, bypassCSP: true,
	httpCredentials: {username: user, password, origin: base}, reducedMotion: 'reduce'});
const a11y = await a11yCtx.newPage();
a11y.setDefaultTimeout(10000);
currentPage = a11y;
watch(a11y, 'a11y');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

async function axe(what) {
	if (!(await a11y.evaluate(() => typeof window.axe === 'object')))
		await a11y.addScriptTag({path: AXE});
	const result = await a11y.evaluate(() => window.axe.run(document, {resultTypes: ['violations']}));
	const found = result.violations.map((v) => `${what}: ${v.id} (${v.impact}): ${v.help}: ` +
		v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '));
	assert.ok(result.passes.length > 10, `${what}: axe checked nothing`);
	assert.deepEqual(found, [], found.join('\n'));
}

await flow('accessibility: no axe-core violation in the list, the tabs and the dialogs', async () => {
	await a11y.goto(PAGE);
	await a11y.locator('#tokens:not([aria-busy]) tbody tr[data-id]').first().waitFor();
	await axe('list');
	await a11y.locator('#tokens tbody tr[data-id] .menu-button').first().click();
	await a11y.getByRole('menu').waitFor();
	await axe('list, a row menu open');
	await a11y.keyboard.press('Escape');
	await a11y.locator('#tokens tbody tr[data-id] a.token-name').first().click();
	await a11y.getByRole('tablist').waitFor();
	for (const tab of ['General', 'Modules', 'Details', 'Audit trail']) {
		await a11y.getByRole('tab', {name: tab}).click();
		if (tab === 'Audit trail')
			await a11y.locator('#audit-trail').waitFor();
		await axe(`details, ${tab}`);
	}
	await a11y.getByRole('button', {name: 'Disable'}).click();
	await a11y.getByRole('dialog', {name: 'Disable API token'}).waitFor();
	await axe('confirmation');
	await a11y.keyboard.press('Escape');
	await a11y.getByRole('button', {name: 'Edit'}).click();
	await a11y.getByRole('dialog', {name: 'Edit API token'}).waitFor();
	await axe('edit');
	await a11y.keyboard.press('Escape');
	await a11y.goto(PAGE);
	await a11y.getByRole('button', {name: 'Add API token'}).click();
	const dlg = a11y.getByRole('dialog', {name: 'Add API token'});
	await axe('wizard, general');
	await dlg.getByLabel('API token name').fill('Accessibility check');
	await dlg.getByRole('button', {name: 'Next'}).click();
	await dlg.getByText('Step 2 of 4: Modules').waitFor();
	await axe('wizard, modules');
	await dlg.getByRole('button', {name: 'Next'}).click();
	await dlg.getByText('Step 3 of 4: Overview').waitFor();
	await axe('wizard, overview');
});

await a11yCtx.close();
await browser.close();
console.log(`browser: ${passed} flows passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
