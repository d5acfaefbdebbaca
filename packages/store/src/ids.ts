import { randomBytes } from 'node:crypto';

/**
 * Public ids: a type prefix, a millisecond time part (so ids sort roughly by creation and index inserts stay
 * local) and 80 random bits (so ids cannot be guessed or enumerated across members).
 */
export function newID(prefix: 'org' | 'key' | 'mem' | 'conv' | 'msg'): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(10).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function nowISO(ms: number = Date.now()): string {
  return new Date(ms).toISOString();
}
