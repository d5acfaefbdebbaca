import type {
  ListMembersResponse,
  ListMessagesResponse,
  ListWebhookDeliveriesResponse,
  Member,
  Message,
  WebhookDelivery,
} from '@concierge/protocol';

export type { ListWebhookDeliveriesResponse } from '@concierge/protocol';

/**
 * A cursor-paged list: await it for one page, or `for await` it for every item, page after page (docs/STYLE.md,
 * pattern 9, after openai-node's PagePromise). Nothing is fetched until it is awaited or iterated; each iteration
 * starts again from the first page. `items` picks a page's items (each list route names its array itself).
 */
export class CursorPages<P extends { nextCursor: string | null }, T> implements Promise<P>, AsyncIterable<T> {
  private first: Promise<P> | null = null;
  readonly [Symbol.toStringTag]: string = 'CursorPages';

  constructor(
    private readonly fetchPage: (cursor: string | undefined) => Promise<P>,
    private readonly cursor: string | undefined,
    private readonly items: (page: P) => readonly T[],
  ) {}

  then<A = P, B = never>(
    onfulfilled?: ((value: P) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.first ??= this.fetchPage(this.cursor);
    return this.first.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<P | B> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<P> {
    return this.then().finally(onfinally);
  }

  /** Every page in turn, each fetched when the previous one has been consumed. */
  async *pages(): AsyncGenerator<P, void, undefined> {
    let page = await this.fetchPage(this.cursor);
    for (;;) {
      yield page;
      if (page.nextCursor === null) return;
      page = await this.fetchPage(page.nextCursor);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* this.items(page);
  }
}

/** What `listMessages` returns: one page of history (newest first) when awaited, every message when iterated. */
export class MessagePages extends CursorPages<ListMessagesResponse, Message> {
  override readonly [Symbol.toStringTag] = 'MessagePages';

  constructor(fetchPage: (cursor: string | undefined) => Promise<ListMessagesResponse>, cursor: string | undefined) {
    super(fetchPage, cursor, (page) => page.messages);
  }
}

/** What `listWebhookDeliveries` returns: one page when awaited, every delivery of the endpoint when iterated. */
export class WebhookDeliveryPages extends CursorPages<ListWebhookDeliveriesResponse, WebhookDelivery> {
  override readonly [Symbol.toStringTag] = 'WebhookDeliveryPages';

  constructor(
    fetchPage: (cursor: string | undefined) => Promise<ListWebhookDeliveriesResponse>,
    cursor: string | undefined,
  ) {
    super(fetchPage, cursor, (page) => page.data);
  }
}

/** What `listMembers` returns: one page when awaited, every member of the org (newest first) when iterated. */
export class MemberPages extends CursorPages<ListMembersResponse, Member> {
  override readonly [Symbol.toStringTag] = 'MemberPages';

  constructor(fetchPage: (cursor: string | undefined) => Promise<ListMembersResponse>, cursor: string | undefined) {
    super(fetchPage, cursor, (page) => page.members);
  }
}
