import { createHash, randomBytes } from 'node:crypto';
import { newID } from '@concierge/ids';
import { API_KEY_PREFIX, API_KEY_PREFIX_PATTERN } from '@concierge/protocol';

/** The longest prefix `keys create --prefix` takes: room for a vendor name, and far inside the 200-char key bound. */
const PREFIX_MAX_CHARS = 40;

/**
 * A new Org-API-Key: its prefix (`ck_live_` unless told) and 256 random bits. Only its SHA-256 is ever stored; the
 * hint keeps the whole prefix and four characters more, which is how the prefix stays recorded with the key.
 */
export function generateApiKey(prefix: string = API_KEY_PREFIX): {
  id: string;
  key: string;
  hash: string;
  hint: string;
} {
  if (!isApiKeyPrefix(prefix))
    throw new Error(
      `a key prefix must match ${API_KEY_PREFIX_PATTERN.source}$ (at most ${PREFIX_MAX_CHARS} characters)`,
    );
  const key = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { id: newID('key'), key, hash: hashApiKey(key), hint: `${key.slice(0, prefix.length + 4)}…` };
}

/** Whether `prefix` is a whole key prefix: `expys_live_`, not `expys_live_x` or `Expys_live_`. */
export function isApiKeyPrefix(prefix: string): boolean {
  return prefix.length <= PREFIX_MAX_CHARS && apiKeyPrefix(prefix) === prefix;
}

/**
 * The prefix a key, or a key's hint, starts with (`ck_live_`, `expys_sandbox_`), or null. `[a-z]+` cannot cross an
 * underscore, so the match ends at the prefix even when the random part that follows holds `_live_`.
 */
export function apiKeyPrefix(text: string): string | null {
  return API_KEY_PREFIX_PATTERN.exec(text)?.[0] ?? null;
}

/**
 * A fast unsalted hash is right here: the key is 256 random bits, so there is nothing to brute-force, and the
 * lookup must stay an indexed equality match.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Any recorded prefix makes a credential a key to look up; the lookup by hash decides whether it is one. */
export function looksLikeApiKey(credential: string): boolean {
  return API_KEY_PREFIX_PATTERN.test(credential);
}
