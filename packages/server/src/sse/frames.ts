/**
 * SSE framing (WHATWG HTML, "server-sent events"). `data` is split on line breaks so a payload can never end an
 * event early; `id` and `event` must not contain CR or LF (they would forge fields), which our ids and names
 * never do, and this asserts.
 */
export function frame(fields: { event?: string; id?: string; data: string }): Buffer {
  let out = '';
  if (fields.event !== undefined) out += `event: ${single(fields.event)}\n`;
  if (fields.id !== undefined) out += `id: ${single(fields.id)}\n`;
  for (const line of fields.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return Buffer.from(`${out}\n`, 'utf8');
}

function single(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error('SSE field value contains a line break or NUL');
  return value;
}

export const HEARTBEAT = Buffer.from(': heartbeat\n\n', 'utf8');

export const retryHint = (ms: number): Buffer => Buffer.from(`retry: ${ms}\n\n`, 'utf8');
