import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Concierge,
  ConciergeError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
  type Message,
  type StreamEvent,
} from '@concierge/sdk';
import { ConciergeServer } from '@concierge/sdk/server';
import { acrossStores } from '@concierge/tests/harness';
import { startFixture, take, until, type Fixture } from './lib/fixture.js';

acrossStores((store) => {
  describe(`SDK clients against the real server (${store.name})`, () => {
    let f: Fixture;
    before(async () => {
      f = await startFixture(store);
    });
    after(async () => {
      await f.close();
    });

    test('member client: open, list, get, send, page, mark read', async () => {
      const client = await f.member('alice');
      const conversation = await client.openConversation({ title: 'Trip to Lisbon' });
      assert.equal(conversation.title, 'Trip to Lisbon');
      assert.equal((await client.getConversation({ conversationID: conversation.id })).id, conversation.id);

      const sent: Message[] = [];
      for (let i = 0; i < 7; i++)
        sent.push((await client.sendMessage({ conversationID: conversation.id, message: `hello ${i}` })).message);
      const { conversations } = await client.listConversations();
      assert.deepEqual(
        conversations.map((c) => c.id),
        [conversation.id],
      );
      // The seed page's parameter: a member may name itself.
      assert.equal((await client.listConversations({ externalUserID: 'alice' })).conversations.length, 1);

      const first = await client.listMessages({ conversationID: conversation.id, limit: 3 });
      assert.deepEqual(
        first.messages.map((m) => m.body),
        ['hello 6', 'hello 5', 'hello 4'],
      );
      assert.notEqual(first.nextCursor, null);
      const second = await client.listMessages({
        conversationID: conversation.id,
        limit: 3,
        cursor: first.nextCursor!,
      });
      assert.deepEqual(
        second.messages.map((m) => m.body),
        ['hello 3', 'hello 2', 'hello 1'],
      );

      // The whole history, page after page, with `for await`.
      const all: string[] = [];
      for await (const m of client.listMessages({ conversationID: conversation.id, limit: 2 })) all.push(m.body!);
      assert.deepEqual(all, sent.map((m) => m.body!).reverse());

      // The concierge answers; the member reads it.
      const answer = await f.admin.sendMessage({
        conversationID: conversation.id,
        message: 'Welcome!',
        authorID: 'agent-7',
      });
      assert.equal((await client.getConversation({ conversationID: conversation.id })).unreadCount, 1);
      const read = await client.markRead({ conversationID: conversation.id, messageID: answer.message.id });
      assert.equal(read.ok, true);
      assert.equal(read.conversation.unreadCount, 0);
      assert.deepEqual(await client.typing({ conversationID: conversation.id }), { ok: true });
      const ticket = await client.createStreamTicket();
      assert.match(ticket.ticket, /^tkt_/);
    });

    test('a send with the caller’s key posts once and says it was replayed', async () => {
      const client = await f.member('bob');
      const { id } = await client.openConversation();
      const one = await client.sendMessage(
        { conversationID: id, message: 'only once' },
        { idempotencyKey: 'order-42' },
      );
      const two = await client.sendMessage(
        { conversationID: id, message: 'only once' },
        { idempotencyKey: 'order-42' },
      );
      assert.equal(one.replayed, false);
      assert.equal(two.replayed, true);
      assert.equal(two.message.id, one.message.id);
      const page = await client.listMessages({ conversationID: id });
      assert.equal(page.messages.filter((m) => m.body === 'only once').length, 1);
      // The same key with another body is a conflict, not retried.
      const other = { conversationID: id, message: 'something else' };
      await assert.rejects(client.sendMessage(other, { idempotencyKey: 'order-42' }), (e: unknown) => {
        assert.ok(e instanceof ConflictError);
        assert.equal(e.code, 'IDEMPOTENCY_KEY_REUSED');
        assert.equal(e.status, 409);
        return true;
      });
      assert.equal(f.proxy.seen('POST', `/v1/conversations/${id}/messages`).length, 3);
    });

    test('errors arrive as their classes with code, status and request id', async () => {
      const client = await f.member('carol');
      await assert.rejects(client.listMessages({ conversationID: 'no-such-conversation' }), (e: unknown) => {
        assert.ok(e instanceof NotFoundError);
        assert.equal(e.code, 'NOT_FOUND');
        assert.equal(e.status, 404);
        assert.match(e.requestID ?? '', /^req_/);
        assert.equal(e.retryable, false);
        assert.equal(e.name, 'NotFoundError');
        return true;
      });
      const { id } = await client.openConversation();
      await assert.rejects(client.sendMessage({ conversationID: id, message: '' }), (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.field, 'message');
        return true;
      });
      await assert.rejects(client.listConversations({ externalUserID: 'someone-else' }), ForbiddenError);
      const forged = new Concierge({ baseURL: f.proxy.url, token: 'not-a-token', maxRetries: 0 });
      await assert.rejects(
        forged.listConversations(),
        (e: unknown) => e instanceof UnauthorizedError && e.code === 'TOKEN_INVALID',
      );
      assert.throws(() => new Concierge({ baseURL: f.proxy.url, token: f.server.org.apiKey }), ConciergeError);
      // An id with a slash or a query character stays one path segment.
      await assert.rejects(client.listMessages({ conversationID: '../conversations?x=1' }), NotFoundError);
    });

    test('server client: tokens, members, conversations for a member, sending both ways', async () => {
      const admin = f.admin;
      const exchanged = await admin.exchangeToken({ externalUserID: 'dana', displayName: 'Dana', tier: 'gold' });
      assert.ok(Date.parse(exchanged.expiresAt) > Date.now());
      const member = await admin.getMember({ externalUserID: 'dana' });
      assert.equal(member.displayName, 'Dana');
      assert.equal(member.tier, 'gold');
      const updated = await admin.setMember({
        externalUserID: 'dana',
        displayName: 'Dana S.',
        attributes: { seat: '2A' },
      });
      assert.equal(updated.displayName, 'Dana S.');
      assert.equal(updated.tier, 'gold', 'fields left out keep their values');
      assert.deepEqual(updated.attributes, { seat: '2A' });
      await admin.setMember({ externalUserID: 'zed' });
      const page = await admin.listMembers({ limit: 1 });
      assert.deepEqual(
        page.members.map((m) => m.externalUserID),
        ['zed'],
      );
      const everyone: string[] = [];
      for await (const m of admin.listMembers({ limit: 1 })) everyone.push(m.externalUserID);
      assert.deepEqual(everyone.slice(0, 2), ['zed', 'dana'], 'newest first, page after page');

      const conversation = await admin.openConversation({ externalUserID: 'dana', title: 'Concierge' });
      const conversationID = conversation.id;
      const asConcierge = await admin.sendMessage({ conversationID, message: 'How can I help?', authorID: 'agent-1' });
      assert.equal(asConcierge.message.type, 'concierge');
      assert.equal(asConcierge.message.authorID, 'agent-1');
      const onBehalf = await admin.sendMessage({ conversationID, message: 'A table for two', externalUserID: 'dana' });
      assert.equal(onBehalf.message.type, 'member');
      assert.equal(onBehalf.message.authorID, 'dana');

      assert.equal((await admin.listConversations({ externalUserID: 'dana' })).conversations[0]?.id, conversation.id);
      assert.equal((await admin.getConversation({ conversationID, externalUserID: 'dana' })).title, 'Concierge');
      const history = await admin.listMessages({ conversationID, externalUserID: 'dana' });
      assert.deepEqual(
        history.messages.map((m) => m.body),
        ['A table for two', 'How can I help?'],
      );
      assert.equal((await admin.markRead({ conversationID, messageID: onBehalf.message.id })).ok, true);
      assert.deepEqual(await admin.typing({ conversationID }), { ok: true });

      // The member's own client sees the same conversation with the exchanged token.
      const client = new Concierge({ baseURL: f.proxy.url, token: exchanged.accessToken });
      assert.equal((await client.listMessages({ conversationID })).messages.length, 2);

      const revoked = await admin.revokeTokens({ externalUserID: 'dana' });
      assert.equal(revoked.ok, true);
      await assert.rejects(
        client.listConversations(),
        (e: unknown) => e instanceof UnauthorizedError && e.code === 'TOKEN_REVOKED',
      );

      assert.deepEqual(await admin.removeMember({ externalUserID: 'dana', retainBalance: true }), {
        externalUserID: 'dana',
        archived: true,
        balanceRetained: false,
        ok: true,
        deleted: false,
      });
      assert.equal(
        typeof (await admin.getMember({ externalUserID: 'dana' })).archivedAt,
        'string',
        'archived, still readable',
      );
      assert.deepEqual(await admin.eraseMember({ externalUserID: 'dana' }), { ok: true, erased: true });
      await assert.rejects(admin.getMember({ externalUserID: 'dana' }), NotFoundError);
      // A member token in the server client's place gets 403 on a server route.
      const eve = await f.token('eve');
      const misconfigured = new ConciergeServer({ baseURL: f.proxy.url, apiKey: eve.accessToken });
      await assert.rejects(
        misconfigured.getMember({ externalUserID: 'eve' }),
        (e: unknown) => e instanceof ForbiddenError && e.code === 'FORBIDDEN',
      );
      await assert.rejects(admin.listConversations({ externalUserID: '' }), ValidationError);
    });

    test('the hosted SDK’s positional shapes put the same requests on the wire as (params, options)', async () => {
      const client = await f.member('olga');
      const { id } = await client.openConversation();
      const positional = await client.sendMessage(id, 'as the hosted SDK sends', { idempotencyKey: 'olga-1' });
      const params = await client.sendMessage(
        { conversationID: id, message: 'as the hosted SDK sends' },
        { idempotencyKey: 'olga-1' },
      );
      assert.equal(params.replayed, true, 'one request, whichever shape sent it');
      assert.equal(params.message.id, positional.message.id);
      const sends = f.proxy.seen('POST', `/v1/conversations/${id}/messages`);
      assert.deepEqual(
        sends.map((r) => r.path),
        [`/v1/conversations/${id}/messages`, `/v1/conversations/${id}/messages`],
      );

      const byPosition = await client.listMessages(id, { limit: 1 }, { maxRetries: 0 });
      const byParams = await client.listMessages({ conversationID: id, limit: 1 }, { maxRetries: 0 });
      assert.deepEqual(byPosition, byParams);
      const lists = f.proxy.seen('GET', `/v1/conversations/${id}/messages`).map((r) => r.path);
      assert.deepEqual(lists, [`/v1/conversations/${id}/messages?limit=1`, `/v1/conversations/${id}/messages?limit=1`]);

      // The server client: a positional send posts as the concierge; the member routes take the id first.
      const admin = f.admin;
      const concierge = await admin.sendMessage(id, 'from the backend');
      assert.equal(concierge.message.type, 'concierge');
      const history = await admin.listMessages(id, { externalUserID: 'olga', limit: 1 });
      assert.equal(history.messages[0]?.id, concierge.message.id);
      assert.equal((await admin.setMember('olga', { tier: 'silver' })).tier, 'silver');
      assert.equal((await admin.getMember('olga')).tier, 'silver');
      assert.equal((await admin.removeMember('olga', { retainBalance: false })).archived, true);
      assert.deepEqual(
        f.proxy.seen('DELETE', '/v1/members/olga').map((r) => r.path),
        ['/v1/members/olga?retainBalance=false'],
      );
    });

    test('the member client refuses an Org-API-Key of any prefix', () => {
      for (const token of [f.server.org.apiKey, 'expys_live_secret', 'acme_sandbox_secret'])
        assert.throws(() => new Concierge({ baseURL: f.proxy.url, token }), /This is an Org-API-Key/, token);
      assert.ok(new Concierge({ baseURL: f.proxy.url, token: 'eyJhbGciOiJIUzI1NiJ9.e30.x' }));
    });

    test('the server client refuses to run in a browser unless told otherwise', () => {
      const g = globalThis as { document?: unknown };
      g.document = {};
      try {
        assert.throws(
          () => new ConciergeServer({ baseURL: f.proxy.url, apiKey: f.server.org.apiKey }),
          /refuses to run in a browser/,
        );
        assert.ok(
          new ConciergeServer({ baseURL: f.proxy.url, apiKey: f.server.org.apiKey, dangerouslyAllowBrowser: true }),
        );
      } finally {
        delete g.document;
      }
    });

    test('streamMessages delivers live messages; breaking out closes the connection', async () => {
      const client = await f.member('frank');
      const { id } = await client.openConversation();
      const stream = client.streamMessages({ conversationID: id });
      const got = take(stream, 3);
      await until(() => f.proxy.open(`/v1/conversations/${id}/stream`) === 1, 'the stream to connect');
      for (const body of ['one', 'two', 'three']) await f.admin.sendMessage({ conversationID: id, message: body });
      assert.deepEqual(
        (await got).map((m) => m.body),
        ['one', 'two', 'three'],
      );
      await until(() => f.proxy.open(`/v1/conversations/${id}/stream`) === 0, 'the stream to close');
      assert.notEqual(stream.lastEventID, null);

      // Resuming from a stored id replays exactly what came after it.
      await f.admin.sendMessage({ conversationID: id, message: 'four' });
      const resumed = await take(client.streamMessages({ conversationID: id, after: stream.lastEventID! }), 1);
      assert.equal(resumed[0]?.body, 'four');
    });

    test('syncMessages yields the latest page, then live, with no gap and no repeat', async () => {
      const client = await f.member('gina');
      const { id } = await client.openConversation();
      for (let i = 0; i < 5; i++) await client.sendMessage({ conversationID: id, message: `old ${i}` });
      const sync = client.syncMessages({ conversationID: id, limit: 3 });
      const got = take(sync, 5);
      await until(
        () => f.proxy.seen('GET', `/v1/conversations/${id}/messages`).some((r) => r.done),
        'the history page',
      );
      await f.admin.sendMessage({ conversationID: id, message: 'new 0' });
      await f.admin.sendMessage({ conversationID: id, message: 'new 1' });
      assert.deepEqual(
        (await got).map((m) => m.body),
        ['old 2', 'old 3', 'old 4', 'new 0', 'new 1'],
      );
    });

    test('stream() yields typed events for the member; the server client streams the whole org', async () => {
      const client = await f.member('hugo');
      const memberEvents = client.stream();
      const orgEvents = f.admin.stream();
      const forMember = take(memberEvents, 2);
      const forOrg = take(
        (async function* () {
          for await (const e of orgEvents) if (e.type === 'message' || e.type === 'typing') yield e;
        })(),
        2,
      );
      await until(() => f.proxy.open('/v1/stream') === 2, 'both streams to connect');
      const { id } = await client.openConversation();
      const sent = await client.sendMessage({ conversationID: id, message: 'ping' });
      await client.typing({ conversationID: id });
      const member: StreamEvent[] = await forMember;
      assert.equal(member[0]?.type, 'conversation');
      assert.equal(member[1]?.type, 'message');
      if (member[1]?.type === 'message') {
        assert.equal(member[1].data.message.id, sent.message.id);
        assert.equal(member[1].data.conversationID, id);
        assert.notEqual(member[1].id, null);
      }
      const org = await forOrg;
      assert.deepEqual(
        org.map((e) => e.type),
        ['message', 'typing'],
      );
      if (org[1]?.type === 'typing') {
        assert.equal(org[1].id, null);
        assert.equal(org[1].data.typist, 'member');
      }
      orgEvents.close();
    });

    test('a stream for a conversation the member cannot see ends with NotFoundError', async () => {
      const client = await f.member('ivan');
      await assert.rejects(take(client.streamMessages({ conversationID: 'no-such-conversation' }), 1), NotFoundError);
    });
  });
});
