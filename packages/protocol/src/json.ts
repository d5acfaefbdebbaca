/**
 * The two wire types a schema cannot infer: a JSON value (the recursive schema of `attributes` needs its type
 * declared first) and the known kinds of message (the schema takes any string, since new kinds may come).
 */

/** A JSON value, as `JSON.parse` gives it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** `member` (written by the member, or by the org's backend on the member's behalf), `concierge`, `system`. */
export type MessageType = 'member' | 'concierge' | 'system';
