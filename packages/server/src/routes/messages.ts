import { LIMITS, type ListMessagesResponse } from '@concierge/protocol';
import { NotFoundInStore, type MessageRecord, type NewMessage, type ReadMarkResult } from '@concierge/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiError, notFound } from '../errors.js';
import { renderMessage } from '../render.js';
import { rendering } from '../replay-renderers.js';
import { operationTable } from '@concierge/protocol/contract';
import { isTeam, memberSubject, ownedConversation } from './subject.js';
import { route } from './register.js';

export function messageRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);

  /**
   * listMessages: newest first, keyset-paged. `nextCursor` names the oldest message of the page; the next page is
   * what is strictly older, so messages arriving meanwhile (always newer) never shift or repeat a page.
   */
  route(app, ops.listMessages, async (req) => {
    const query = req.query;
    const subject = await memberSubject(ctx, req, query.externalUserID);
    const conversation = await ownedConversation(ctx, subject.orgID, subject.memberID, req.params.id);
    let before: number | null = null;
    if (query.cursor !== undefined) {
      const position = decodeCursor(ctx.cursorSecret, query.cursor);
      if (position === null || position.kind !== 'm' || position.conversationID !== conversation.id)
        throw new ApiError('INVALID_CURSOR', '`cursor` is not a cursor this server issued for this conversation.', {
          field: 'cursor',
        });
      before = position.seq;
    }
    const limit = query.limit ?? LIMITS.pageDefault;
    const rows = await ctx.store.listMessagesBefore(conversation.id, before, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const position = (seq: number) =>
      encodeCursor(ctx.cursorSecret, { kind: 'm', conversationID: conversation.id, seq });
    const response: ListMessagesResponse = {
      messages: page.map(renderMessage),
      nextCursor: rows.length > limit && last !== undefined ? position(last.seq) : null,
      latestCursor: position(page[0]?.seq ?? before ?? 0),
    };
    return response;
  });

  /**
   * sendMessage. A member token posts as the member. A server credential posts on the member's behalf when it
   * names them (`?externalUserID=`), and as the concierge otherwise (`authorID` names the agent).
   */
  route(app, ops.sendMessage, async (req, reply) => {
    const { body, query } = req;
    const p = req.principal;
    const id = req.params.id;
    let input: NewMessage;
    if (isTeam(p) && query.externalUserID === undefined) {
      // An agent always posts as themselves: the author is set here, never taken from the body.
      if (p.kind === 'agent' && body.authorID !== undefined)
        throw new ApiError('VALIDATION', '`authorID` is set by the server when an agent posts; leave it out.', {
          field: 'authorID',
        });
      const conversation = await ownedConversation(ctx, p.orgID, 'org', id);
      input = {
        orgID: p.orgID,
        conversationID: conversation.id,
        type: 'concierge',
        authorID: p.kind === 'agent' ? p.agentID : (body.authorID ?? 'concierge'),
        body: body.message,
        via: 'server',
        actor: p.kind === 'agent' ? { kind: 'agent', id: p.agentID } : { kind: 'key', id: p.keyID },
      };
    } else {
      if (body.authorID !== undefined)
        throw new ApiError(
          'VALIDATION',
          '`authorID` may only be set when the concierge posts (server credential, no externalUserID).',
          {
            field: 'authorID',
          },
        );
      const subject = await memberSubject(ctx, req, query.externalUserID);
      const conversation = await ownedConversation(ctx, subject.orgID, subject.memberID, id);
      input = {
        orgID: subject.orgID,
        conversationID: conversation.id,
        type: 'member',
        authorID: subject.externalUserID,
        body: body.message,
        via: p.kind === 'member' ? 'member' : 'server',
      };
    }
    return ctx.idempotency.run<MessageRecord>(
      req,
      reply,
      p,
      async (idem) => {
        try {
          return await ctx.store.insertMessage(input, idem);
        } catch (error) {
          // The conversation vanished between the check and the write (its member was removed).
          if (error instanceof NotFoundInStore) throw notFound('conversation');
          throw error;
        }
      },
      rendering('sentMessage'),
    );
  });

  /**
   * Which side a read mark or typing signal comes from: a server credential alone acts as the concierge (on any
   * conversation of the org); a member token, or a server credential naming the member, acts as that member.
   */
  async function actingSide(req: FastifyRequest, id: string, externalUserID: string | undefined) {
    const p = req.principal;
    if (isTeam(p) && externalUserID === undefined) {
      const conversation = await ownedConversation(ctx, p.orgID, 'org', id);
      return { side: { kind: 'concierge' as const, id: p.kind === 'agent' ? p.agentID : 'concierge' }, conversation };
    }
    const subject = await memberSubject(ctx, req, externalUserID);
    const conversation = await ownedConversation(ctx, p.orgID, subject.memberID, id);
    return { side: { kind: 'member' as const, id: subject.externalUserID }, conversation };
  }

  /**
   * Moves the caller's read mark forward to `messageID` (never back; idempotent). A member (or a server credential
   * naming one) moves the member's mark; a server credential alone moves the concierge's.
   */
  route(app, ops.markRead, async (req, reply) => {
    const body = req.body;
    const p = req.principal;
    const { side, conversation } = await actingSide(req, req.params.id, req.query.externalUserID);
    if (body.messageID.length > 100 || (await ctx.store.getMessage(conversation.id, body.messageID)) === null)
      throw new ApiError('VALIDATION', '`messageID` names no message of this conversation.', { field: 'messageID' });
    return ctx.idempotency.run<ReadMarkResult>(
      req,
      reply,
      p,
      (idem) =>
        ctx.store.markRead(
          {
            orgID: p.orgID,
            conversationID: conversation.id,
            reader: side.kind,
            readerID: side.id,
            messageID: body.messageID,
          },
          idem,
        ),
      rendering('readMark'),
    );
  });

  /**
   * Typing indicator: ephemeral, never stored, so no Idempotency-Key is recorded (a repeat is harmless). It
   * reaches the other side only: the member's typing goes to the org's streams, the concierge's to the member's.
   */
  route(app, ops.sendTyping, async (req) => {
    const { side, conversation } = await actingSide(req, req.params.id, req.query.externalUserID);
    ctx.hub.typing(conversation, side.kind, side.id);
    return { ok: true as const };
  });
}
