/**
 * Every write of the store, once, for both dialects: what is written, in which order, and what it means (seqs,
 * unread counts, idempotency records, the cascade of a member's removal, the first org). Each runs inside one
 * group-commit transaction (so it may throw to undo itself alone; see the group-commit files) and returns its
 * value with the events it appended, which are published only after the batch is durable.
 *
 * The rules live in rules/, one file per domain; this module is their one namespace, the one write-calls.ts looks
 * a rule up in by name (in whichever thread writes). A rule file added under rules/ is listed here.
 */
export * from './rules/org-rules.js';
export * from './rules/member-rules.js';
export * from './rules/message-rules.js';
export * from './rules/agent-rules.js';
export * from './rules/team-rules.js';
export * from './rules/stream-rules.js';
export * from './rules/upkeep-rules.js';
export * from './rules/webhook-endpoint-rules.js';
export * from './rules/webhook-claim-rules.js';
export * from './rules/webhook-attempt-rules.js';
