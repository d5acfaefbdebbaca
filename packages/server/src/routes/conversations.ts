import type { ConversationRecord } from '@concierge/store';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { renderConversation } from '../render.js';
import { rendering } from '../replay-renderers.js';
import { operationTable } from '@concierge/protocol/contract';
import { memberSubject, visibleConversation } from './subject.js';
import { route } from './register.js';

const DEFAULT_CONVERSATION_TYPE = 'concierge';

export function conversationRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);
  /** listConversations: the member's conversations, newest activity first, not paginated (as the contract has it). */
  route(app, ops.listConversations, async (req) => {
    const query = req.query;
    const subject = await memberSubject(ctx, req, query.externalUserID);
    const rows = subject.memberID === null ? [] : await ctx.store.listConversations(subject.orgID, subject.memberID);
    return { conversations: rows.map(renderConversation) };
  });

  /**
   * Opens a conversation. A member opens their own; a server credential opens one for `externalUserID` (in the
   * body or the query), creating the member record if the org has not exchanged a token for them yet.
   */
  route(app, ops.openConversation, async (req, reply) => {
    const { body, query } = req;
    const subject = await memberSubject(ctx, req, body.externalUserID ?? query.externalUserID);
    return ctx.idempotency.run<ConversationRecord>(
      req,
      reply,
      req.principal,
      async (idem) => {
        // The member is made here, once the Idempotency-Key passed its checks: a refused request stores nothing.
        let memberID = subject.memberID;
        if (memberID === null) {
          const member = await ctx.store.upsertMember(subject.orgID, subject.externalUserID, {}, 'merge');
          ctx.auth.noteMember(member);
          memberID = member.id;
        }
        const input = {
          orgID: subject.orgID,
          memberID,
          type: body.type ?? DEFAULT_CONVERSATION_TYPE,
          title: body.title ?? null,
        };
        return ctx.store.createConversation(input, idem);
      },
      rendering('createdConversation'),
    );
  });

  /** One conversation (ours: the contract has only the list). */
  route(app, ops.getConversation, async (req) => {
    const subject = await memberSubject(ctx, req, req.query.externalUserID);
    const conversation = await visibleConversation(ctx, subject.orgID, subject.memberID, req.params.id);
    return renderConversation(conversation);
  });
}
