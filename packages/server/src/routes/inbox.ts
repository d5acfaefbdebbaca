import { LIMITS, type InboxPage, type NotesPage } from '@concierge/protocol';
import { NotFoundInStore, type InboxFilter, type NoteRecord, type StateChange } from '@concierge/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiError, notFound } from '../errors.js';
import { renderInboxItem, renderNote } from '../render.js';
import { rendering } from '../replay-renderers.js';
import { operationTable } from '@concierge/protocol/contract';
import { teamActor, teamPrincipal } from './subject.js';
import { route } from './register.js';

/**
 * The team's inbox: the org's conversations with their team state (status, assignee, awaiting reply), counts
 * per view, state changes and internal notes. For agents and the Org-API-Key only.
 */
export function inboxRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);

  /** The agent "me" means: the agent, or the one the Org-API-Key names; null when there is none. */
  async function me(req: FastifyRequest): Promise<string | null> {
    const actor = await teamActor(ctx, req);
    return actor.kind === 'agent' ? actor.id : null;
  }

  const badCursor = () =>
    new ApiError('INVALID_CURSOR', '`cursor` is not a cursor this server issued for this list.', { field: 'cursor' });

  /**
   * Keyset paging as of a snapshot: the first page fixes the org's seq, and every page lists conversations by
   * their activity as of that seq. A conversation that moves meanwhile keeps its place for this walk, so none is
   * skipped or repeated (the store explains how). With `q`, results are ranked and paged by offset.
   */
  route(app, ops.listInbox, async (req) => {
    const p = teamPrincipal(req);
    const query = req.query;
    const filter: InboxFilter = { orgID: p.orgID, status: query.status, awaiting: query.awaiting === 'true' };
    if (query.assignee === 'me') {
      const agentID = await me(req);
      if (agentID === null)
        throw new ApiError('VALIDATION', '`assignee=me` needs an agent: an agent token, or `Concierge-Agent-ID`.', {
          field: 'assignee',
        });
      filter.assignee = agentID;
    } else filter.assignee = query.assignee;
    const limit = query.limit ?? LIMITS.pageDefault;
    const cursor = query.cursor === undefined ? null : decodeCursor(ctx.cursorSecret, query.cursor);
    if (cursor !== null && (!('orgID' in cursor) || cursor.orgID !== p.orgID)) throw badCursor();
    let page: InboxPage;
    if (query.q !== undefined) {
      if (query.cursor !== undefined && cursor?.kind !== 's') throw badCursor();
      const offset = cursor?.kind === 's' ? cursor.seq : 0;
      const rows = await ctx.store.searchInbox(filter, query.q, offset, limit + 1);
      page = {
        data: rows.slice(0, limit).map(renderInboxItem),
        nextCursor:
          rows.length > limit
            ? encodeCursor(ctx.cursorSecret, { kind: 's', orgID: p.orgID, seq: offset + limit })
            : null,
      };
    } else {
      if (query.cursor !== undefined && cursor?.kind !== 'i') throw badCursor();
      const snapshot = cursor?.kind === 'i' ? cursor.snapshot : await ctx.store.latestEventSeq(p.orgID);
      const rows = await ctx.store.inbox(filter, snapshot, cursor?.kind === 'i' ? cursor.seq : null, limit + 1);
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      page = {
        data: items.map(renderInboxItem),
        nextCursor:
          rows.length > limit && last !== undefined
            ? encodeCursor(ctx.cursorSecret, { kind: 'i', orgID: p.orgID, seq: last.position, snapshot })
            : null,
      };
    }
    return page;
  });

  route(app, ops.inboxCounts, async (req) => {
    const p = teamPrincipal(req);
    return ctx.store.inboxCounts(p.orgID, await me(req));
  });

  /** By id alone: a link to a conversation names no member. Another org's conversation is as absent as none. */
  route(app, ops.getInboxItem, async (req) => {
    const p = teamPrincipal(req);
    const id = req.params.id;
    const row = id.length > 100 ? null : await ctx.store.inboxItem(p.orgID, id);
    if (row === null) throw notFound('conversation');
    return renderInboxItem(row);
  });

  async function change(req: FastifyRequest, id: string, what: StateChange) {
    const p = teamPrincipal(req);
    const actor = await teamActor(ctx, req);
    if (id.length > 100) throw notFound('conversation');
    try {
      return (await ctx.store.changeState(p.orgID, id, what, actor)).state;
    } catch (error) {
      if (error instanceof NotFoundInStore) {
        if (error.message.startsWith('agent'))
          throw new ApiError('VALIDATION', '`assigneeID` names no enabled agent of this org.', { field: 'assigneeID' });
        throw notFound('conversation');
      }
      throw error;
    }
  }

  route(app, ops.assignConversation, async (req) => {
    const p = teamPrincipal(req);
    let assignee = req.body.assigneeID;
    if (assignee === 'me') {
      const agentID = await me(req);
      if (agentID === null)
        throw new ApiError('VALIDATION', '`me` needs an agent: an agent token, or `Concierge-Agent-ID`.', {
          field: 'assigneeID',
        });
      assignee = agentID;
    } else {
      const agent = assignee.length > 100 ? null : await ctx.store.getAgent(p.orgID, assignee);
      if (agent === null || agent.disabledAt !== null)
        throw new ApiError('VALIDATION', '`assigneeID` names no enabled agent of this org.', { field: 'assigneeID' });
    }
    return change(req, req.params.id, { assign: assignee });
  });

  route(app, ops.unassignConversation, (req) => change(req, req.params.id, { assign: null }));
  route(app, ops.closeConversation, (req) => change(req, req.params.id, { status: 'closed' }));
  route(app, ops.reopenConversation, (req) => change(req, req.params.id, { status: 'open' }));

  route(app, ops.addNote, async (req, reply) => {
    const p = teamPrincipal(req);
    const actor = await teamActor(ctx, req);
    const conversation = req.params.id.length > 100 ? null : await ctx.conversations.get(p.orgID, req.params.id);
    if (conversation === null) throw notFound('conversation');
    const input = { orgID: p.orgID, conversationID: conversation.id, authorID: actor.id, body: req.body.body };
    return ctx.idempotency.run<NoteRecord>(
      req,
      reply,
      p,
      async (idem) => {
        try {
          return await ctx.store.addNote(input, idem);
        } catch (error) {
          if (error instanceof NotFoundInStore) throw notFound('conversation');
          throw error;
        }
      },
      rendering('createdNote'),
    );
  });

  route(app, ops.listNotes, async (req) => {
    const p = teamPrincipal(req);
    const conversation = req.params.id.length > 100 ? null : await ctx.conversations.get(p.orgID, req.params.id);
    if (conversation === null) throw notFound('conversation');
    let before: number | null = null;
    if (req.query.cursor !== undefined) {
      const position = decodeCursor(ctx.cursorSecret, req.query.cursor);
      if (position === null || position.kind !== 'n' || position.conversationID !== conversation.id) throw badCursor();
      before = position.seq;
    }
    const limit = req.query.limit ?? LIMITS.pageDefault;
    const rows = await ctx.store.listNotes(conversation.id, before, limit + 1);
    const notes = rows.slice(0, limit);
    const last = notes[notes.length - 1];
    const page: NotesPage = {
      notes: notes.map(renderNote),
      nextCursor:
        rows.length > limit && last !== undefined
          ? encodeCursor(ctx.cursorSecret, { kind: 'n', conversationID: conversation.id, seq: last.seq })
          : null,
    };
    return page;
  });
}
