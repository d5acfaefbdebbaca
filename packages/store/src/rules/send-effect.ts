import type { ConversationStatus } from '@concierge/protocol';
import type { SendEffect } from '../dialect.js';

/** A conversation's team state as far as a send changes it. */
export interface SendState {
  status: ConversationStatus;
  awaitingReply: boolean;
}

/**
 * What a message does to its conversation: the member's own message is never unread for them, waits for the team's
 * reply and reopens a closed conversation; the team's counts as unread for the member and ends the wait. Every way
 * of writing a send (each dialect's step, PostgreSQL's fused batch) writes this and nothing of its own
 * (docs/STYLE.md, pattern 13).
 */
export function sendEffect(messageType: string): SendEffect {
  const fromMember = messageType === 'member';
  return { unread: fromMember ? 0 : 1, awaitingReply: fromMember, reopen: fromMember };
}

/** The team state a send leaves its conversation in. */
export function stateAfterSend(before: SendState, effect: SendEffect): SendState {
  return { status: effect.reopen ? 'open' : before.status, awaitingReply: effect.awaitingReply };
}
