import { createHash, randomBytes } from 'node:crypto';
import { newID } from '@concierge/ids';
import { API_KEY_PREFIX } from '@concierge/protocol';

/** A new Org-API-Key: the fixed prefix and 256 random bits. Only its SHA-256 is ever stored. */
export function generateApiKey(): { id: string; key: string; hash: string; hint: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { id: newID('key'), key, hash: hashApiKey(key), hint: `${key.slice(0, API_KEY_PREFIX.length + 4)}…` };
}

/**
 * A fast unsalted hash is right here: the key is 256 random bits, so there is nothing to brute-force, and the
 * lookup must stay an indexed equality match.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}
