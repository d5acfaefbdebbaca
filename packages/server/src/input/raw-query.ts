/**
 * The query string, checked as the client sent it. Fastify's query parser (fast-querystring) decodes an invalid
 * percent-encoded UTF-8 sequence such as `%ED%A0%80` (an encoded surrogate) into a string that does not round-trip,
 * so the raw text is decoded strictly here first; a parameter that does not decode is refused, naming it.
 * Returns the name of the first bad parameter (`query` when even its name does not decode), or null.
 */
export function badQueryParameter(url: string): string | null {
  const q = url.indexOf('?');
  if (q === -1) return null;
  const query = url.slice(q + 1);
  if (query === '') return null;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const name = strictDecode(rawName);
    if (name === null) return 'query';
    if (strictDecode(rawValue) === null) return name;
  }
  return null;
}

/** `decodeURIComponent` refuses ill-formed UTF-8 (and so any encoded surrogate); `+` is a space in a query. */
function strictDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
