import type { ListMessagesResponse, Message } from '@concierge/protocol';

/**
 * What `listMessages` returns: await it for one page, or `for await` it for every message of the history, newest
 * first, page after page (docs/STYLE.md, pattern 9, after openai-node's PagePromise). Nothing is fetched until it is
 * awaited or iterated; each iteration starts again from the first page.
 */
export class MessagePages implements Promise<ListMessagesResponse>, AsyncIterable<Message> {
  private first: Promise<ListMessagesResponse> | null = null;
  readonly [Symbol.toStringTag] = 'MessagePages';

  constructor(
    private readonly fetchPage: (cursor: string | undefined) => Promise<ListMessagesResponse>,
    private readonly cursor: string | undefined,
  ) {}

  then<A = ListMessagesResponse, B = never>(
    onfulfilled?: ((value: ListMessagesResponse) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.first ??= this.fetchPage(this.cursor);
    return this.first.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<ListMessagesResponse | B> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<ListMessagesResponse> {
    return this.then().finally(onfinally);
  }

  /** Every page in turn, each fetched when the previous one has been consumed. */
  async *pages(): AsyncGenerator<ListMessagesResponse, void, undefined> {
    let page = await this.fetchPage(this.cursor);
    for (;;) {
      yield page;
      if (page.nextCursor === null) return;
      page = await this.fetchPage(page.nextCursor);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    for await (const page of this.pages()) yield* page.messages;
  }
}
