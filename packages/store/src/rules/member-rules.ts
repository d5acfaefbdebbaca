import { newID, nowISO } from '@concierge/ids';
import type { WriteResult, WriteTx } from '../dialect.js';
import { step, type Rule } from '../steps.js';
import {
  NotFoundInStore,
  type IdempotencyWrite,
  type MemberProfile,
  type MemberRecord,
  type MemberUpsertMode,
} from '../store.js';
import { nothing, outbox, recordIdempotency } from './common-steps.js';

/** Members: created and updated, archived, their tokens revoked, and erased with everything about them. */

/**
 * Creates the member, or updates the fields given (the others keep their values; `attributes` is replaced whole).
 * `restore` also ends an archive, moving `tokensValidAfter` to now so that a token minted while the archive was
 * being written stays dead; `live` leaves an archived member untouched and returns it, for the caller to refuse.
 */
export function* upsertMember(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  profile: MemberProfile,
  mode: MemberUpsertMode,
  idem: IdempotencyWrite<MemberRecord> | undefined,
): Rule<WriteResult<MemberRecord>> {
  const now = nowISO();
  const existing = yield* step(tx.findMember(orgID, externalUserID));
  let member: MemberRecord;
  if (existing === null) {
    member = {
      id: newID('mem'),
      orgID,
      externalUserID,
      displayName: profile.displayName ?? null,
      email: profile.email ?? null,
      tier: profile.tier ?? null,
      attributes: profile.attributes ?? null,
      tokensValidAfter: 0,
      archivedAt: null,
      listSeq: 0,
      createdAt: now,
      updatedAt: now,
    };
    member.listSeq = yield* step(tx.insertMember(member));
  } else if (existing.archivedAt !== null && mode === 'live') {
    member = existing;
  } else {
    const restoring = existing.archivedAt !== null && mode === 'restore';
    member = {
      ...existing,
      displayName: profile.displayName !== undefined ? profile.displayName : existing.displayName,
      email: profile.email !== undefined ? profile.email : existing.email,
      tier: profile.tier !== undefined ? profile.tier : existing.tier,
      attributes: profile.attributes !== undefined ? profile.attributes : existing.attributes,
      ...(restoring && { archivedAt: null, tokensValidAfter: Math.max(existing.tokensValidAfter, Date.now()) }),
      updatedAt: now,
    };
    yield* step(tx.updateMemberProfile(member));
  }
  yield* recordIdempotency(tx, idem, member);
  return nothing(member);
}

/**
 * Archives (offboards) the member: `archivedAt` set and `tokensValidAfter` moved to `at`, so every token issued so
 * far is refused by the same check as a revocation, wherever the signal is lost. Their conversations stay.
 */
export function* archiveMember(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  at: number,
): Rule<WriteResult<MemberRecord | null>> {
  const existing = yield* step(tx.findMember(orgID, externalUserID));
  if (existing === null || existing.archivedAt !== null) return nothing(existing);
  const now = nowISO();
  const member: MemberRecord = {
    ...existing,
    archivedAt: now,
    tokensValidAfter: Math.max(existing.tokensValidAfter, at),
    updatedAt: now,
  };
  yield* step(tx.updateMemberProfile(member));
  return nothing(member);
}

/**
 * Erases the member with their messages, events, conversations and the webhook deliveries about them (children
 * first; the deliveries while the conversations still name them), then queues `member.deleted`. False if there was
 * none.
 */
export function* deleteMember(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  idem: IdempotencyWrite<boolean> | undefined,
): Rule<WriteResult<boolean>> {
  const member = yield* step(tx.findMember(orgID, externalUserID));
  if (member === null) {
    yield* recordIdempotency(tx, idem, false);
    return nothing(false);
  }
  yield* step(tx.deleteMemberMessages(member.id));
  yield* step(tx.deleteMemberEvents(member.id));
  yield* step(tx.deleteMemberWebhookDeliveries(orgID, member.id));
  yield* step(tx.deleteMemberConversations(member.id));
  yield* step(tx.deleteMember(member.id));
  // member.deleted has no event in the log (the member's events are gone); it takes a seq for its outbox row.
  const seq = yield* step(tx.nextSeq(orgID));
  if (seq === null) throw new NotFoundInStore('org');
  yield* outbox(tx, orgID, seq, 'member.deleted', { externalUserID, deletedAt: nowISO() });
  yield* recordIdempotency(tx, idem, true);
  return nothing(true);
}

export function* revokeMemberTokens(
  tx: WriteTx,
  orgID: string,
  externalUserID: string,
  at: number,
  idem: IdempotencyWrite<MemberRecord | null> | undefined,
): Rule<WriteResult<MemberRecord | null>> {
  const member = yield* step(tx.revokeMemberTokens(orgID, externalUserID, at, nowISO()));
  yield* recordIdempotency(tx, idem, member);
  return nothing(member);
}
