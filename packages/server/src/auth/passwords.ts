import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Agent passwords: scrypt from node:crypto, a memory-hard KDF (RFC 7914). N = 2^15, r = 8, p = 1 costs 32 MiB and
 * tens of milliseconds per guess, the parameters OWASP's Password Storage Cheat Sheet lists for scrypt. The stored
 * text names its parameters (`scrypt$N$r$p$salt$hash`), so they can be raised later without locking anyone out.
 */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
/** scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is exactly that, with no room for its own use. */
const MAXMEM = 64 * 1024 * 1024;

export const MIN_PASSWORD_CHARS = 12;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: n, r, p, maxmem: MAXMEM };
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) =>
      error === null ? resolve(key) : reject(error),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** `scrypt$N$r$p$salt` with a new salt: the KDF for an email that has no password yet (a hash is this, `$`, key). */
export function newPasswordKdf(): string {
  return `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}`;
}

/**
 * `password` hashed with the parameters and salt of `kdf` (newPasswordKdf's text, or a stored hash), as stored
 * text: equal to a stored hash of that KDF exactly when it is the same password. A KDF this code cannot read is
 * replaced by a new one, so the answer matches nothing stored and the KDF still runs once.
 */
export async function hashPasswordLike(password: string, kdf: string): Promise<string> {
  const [kind, n, r, p, salt] = kdf.split('$');
  const params = [n, r, p].map(Number);
  const readable =
    kind === 'scrypt' && salt !== undefined && salt !== '' && params.every((x) => Number.isSafeInteger(x) && x > 0);
  if (!readable) return hashPasswordLike(password, newPasswordKdf());
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), params[0]!, params[1]!, params[2]!);
  return `scrypt$${n}$${r}$${p}$${salt}$${key.toString('base64url')}`;
}

/** False for a wrong password or a hash this code cannot read; runs the full KDF either way. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  const [kind, n, r, p, salt, hash] = parts;
  if (parts.length !== 6 || kind !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummy: Promise<string> | null = null;

/**
 * A hash of a password nobody knows, made once: sign-in verifies against it when the email is unknown (or has no
 * password yet), so an unknown email costs the same KDF run as a wrong password and timing tells them apart not.
 */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(24).toString('base64url'));
  return dummy;
}
