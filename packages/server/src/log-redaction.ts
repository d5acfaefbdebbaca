/**
 * Log redaction at every depth. pino's `redact` takes fixed paths (`req.headers.authorization`, `apiKey`), so a
 * token one level down (`{body: {accessToken}}`, an error carrying the request's headers) was logged in clear.
 * This runs as pino's `formatters.log`, on each line's own fields: every property whose name is a credential's,
 * at any depth, is replaced. A log line is small, so the walk is cheap; it is bounded in depth and size anyway.
 * Why, and what else keeps secrets out of logs: docs/design/request-ids-and-logging.md.
 */
const SECRET_KEYS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'apikey',
  'api_key',
  'accesstoken',
  'access_token',
  'refreshtoken',
  'refresh_token',
  'token',
  'ticket',
  'password',
  'secret',
  'signingsecret',
  'signing_secret',
]);

export const REDACTED = '[Redacted]';
const MAX_DEPTH = 12;
const MAX_NODES = 2000;

export function redactDeep(root: Record<string, unknown>): Record<string, unknown> {
  let budget = MAX_NODES;
  const walk = (value: unknown, depth: number, seen: Set<object>): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value) || depth > MAX_DEPTH || --budget < 0) return '[Truncated]';
    seen.add(value);
    try {
      if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1, seen));
      if (Buffer.isBuffer(value) || value instanceof Date) return value;
      const out: Record<string, unknown> = {};
      // Errors keep their non-enumerable message and stack for pino's serializer.
      if (value instanceof Error) {
        out.type = value.name;
        out.message = value.message;
        if (value.stack !== undefined) out.stack = value.stack;
      }
      for (const [k, v] of Object.entries(value))
        out[k] = SECRET_KEYS.has(k.toLowerCase()) ? REDACTED : walk(v, depth + 1, seen);
      return out;
    } finally {
      seen.delete(value);
    }
  };
  return walk(root, 0, new Set()) as Record<string, unknown>;
}
