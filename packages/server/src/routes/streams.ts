import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';
import { decodeCursor } from '../cursor.js';
import { ApiError } from '../errors.js';
import type { StreamScope } from '../sse/hub.js';
import { operationTable } from '@concierge/protocol/contract';
import { isTeam, memberSubject, ownedConversation } from './subject.js';
import { route } from './register.js';

export function streamRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const ops = operationTable(ctx.config);

  /** A single-use ticket (valid `--ticket-ttl`, 60 s by default) for a browser's EventSource (no Authorization). */
  route(app, ops.createStreamTicket, async (req, reply) => {
    return reply.code(201).send(ctx.tickets.issue(req.principal));
  });

  /**
   * streamMessages: each new message of one conversation, `data:` exactly as listMessages has it. A member token,
   * or a server credential naming the member, sees the member's conversations; the team (the Org-API-Key or an
   * agent) without `externalUserID` any conversation of the org, as it reads and answers them (the hosted API's
   * SDKs send no `externalUserID` on this call, whatever the credential).
   */
  route(app, ops.streamConversation, async (req, reply) => {
    const query = req.query;
    const p = req.principal;
    const conversation =
      isTeam(p) && query.externalUserID === undefined
        ? await ownedConversation(ctx, p.orgID, 'org', req.params.id)
        : await memberSubject(ctx, req, query.externalUserID).then((subject) =>
            ownedConversation(ctx, subject.orgID, subject.memberID, req.params.id),
          );
    const after = resumePoint(ctx, req, query.after, (c) => c.kind === 'm' && c.conversationID === conversation.id);
    return start(
      ctx,
      req,
      reply,
      {
        kind: 'conversation',
        orgID: p.orgID,
        conversationID: conversation.id,
        memberID: conversation.memberID,
      },
      after,
    );
  });

  /** One connection for everything: a member's events, or with a server credential the whole org's. */
  route(app, ops.streamEvents, async (req, reply) => {
    const query = req.query;
    const p = req.principal;
    let scope: StreamScope;
    if (p.kind === 'member') {
      await memberSubject(ctx, req, query.externalUserID); // refuses naming another member
      scope = { kind: 'member', orgID: p.orgID, memberID: p.memberID };
    } else if (query.externalUserID !== undefined) {
      const subject = await memberSubject(ctx, req, query.externalUserID);
      if (subject.memberID === null) throw new ApiError('NOT_FOUND', 'No such member.');
      scope = { kind: 'member', orgID: p.orgID, memberID: subject.memberID };
    } else scope = { kind: 'org', orgID: p.orgID };
    const after = resumePoint(ctx, req, query.after, (c) => c.kind === 'e' && c.stream === p.orgID);
    return start(ctx, req, reply, scope, after);
  });
}

/** `Last-Event-ID` (what EventSource sends on reconnect) wins over `?after=`. Null: start live. */
function resumePoint(
  ctx: AppContext,
  req: FastifyRequest,
  after: string | undefined,
  belongs: (p: NonNullable<ReturnType<typeof decodeCursor>>) => boolean,
): number | null {
  const header = req.headers['last-event-id'];
  const raw = typeof header === 'string' && header !== '' ? header : after === '' ? undefined : after;
  if (raw === undefined) return null;
  const position = decodeCursor(ctx.cursorSecret, raw);
  if (position === null || !belongs(position))
    throw new ApiError('INVALID_CURSOR', 'The resume point (`Last-Event-ID` or `after`) is not an id of this stream.', {
      field: typeof header === 'string' && header !== '' ? 'Last-Event-ID' : 'after',
    });
  return position.seq;
}

async function start(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  scope: StreamScope,
  after: number | null,
): Promise<void> {
  const p = req.principal;
  if (p.kind === 'member' && ctx.hub.streamsOf(p.memberID) >= ctx.config.maxStreamsPerMember)
    throw new ApiError('TOO_MANY_STREAMS', `At most ${ctx.config.maxStreamsPerMember} streams per member at once.`, {
      headers: { 'retry-after': '5' },
    });
  // From here the response is ours: copy the headers Fastify collected (request id, CORS, rate limit).
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  res.socket?.setNoDelay(true);
  ctx.metrics.streamsOpened.inc({ scope: scope.kind });
  try {
    await ctx.hub.open(res, scope, p, after);
  } catch (error) {
    req.log.error({ err: error }, 'stream replay failed');
  }
}
