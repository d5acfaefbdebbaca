import type { AgentStreamEvent } from '@concierge/sdk/agent';

type Listener = (event: AgentStreamEvent) => void;

/**
 * The org stream's events, fanned out inside the page: one connection for the whole console (inbox, counts, the
 * open thread), so every view sees the same events in the same order, and one resume point covers them all.
 */
export class LiveEvents {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: AgentStreamEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
