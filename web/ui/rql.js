// Building RQL query strings for the lists (SPEC §6, docs/decisions.md
// "Lists and RQL"): everything is filtered, sorted and paged by the server.

// A value in double quotes: a backslash escapes the quote and itself.
export function quote(value) {
	return '"' + String(value).replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

// A like/ilike pattern that matches text literally: '*' is the wildcard,
// '\*' a star and '\\' a backslash.
export function literalPattern(text) {
	return String(text).replace(/[\\*]/g, (c) => '\\' + c);
}

// query({filters: ['ilike(name,…)'], order: '-audit.created.at', limit, offset,
// select: '+modules', flags: ['render()']}) → '?…'.  The parser
// percent-decodes before parsing, so each part is encoded whole.
export function query({filters = [], order, limit, offset, select, flags = []} = {}) {
	const parts = [];
	for (const f of filters)
		parts.push(encodeURIComponent(f));
	if (order)
		parts.push('order=' + encodeURIComponent(order));
	if (select)
		parts.push('select=' + encodeURIComponent(select));
	if (limit !== undefined)
		parts.push('limit=' + Number(limit));
	if (offset !== undefined)
		parts.push('offset=' + Number(offset));
	parts.push(...flags);
	return parts.length ? '?' + parts.join('&') : '';
}

export function nameContains(text) {
	return `ilike(name,${quote('*' + literalPattern(text) + '*')})`;
}

export function statusIs(status) {
	return `eq(status,${quote(status)})`;
}
