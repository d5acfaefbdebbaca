/**
 * A UUID v4 for `Idempotency-Key`. `crypto.randomUUID` exists only in secure contexts (https, localhost) in
 * browsers; `getRandomValues` exists everywhere Web Crypto does, so it backs the fallback (RFC 9562 §5.4).
 */
export function uuid4(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  if (typeof c?.getRandomValues !== 'function')
    throw new Error(
      'No Web Crypto: install a getRandomValues polyfill (React Native: react-native-get-random-values).',
    );
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A path with every interpolated value percent-encoded, so an id can never add a path segment or a query. */
export function path(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i]!) : ''), '');
}

/** A bounded set of recently seen ids (insertion order; the oldest is forgotten first). */
export class RecentIDs {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 2000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
  }
}
