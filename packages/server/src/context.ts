import type { Store } from '@concierge/store';
import type { Authenticator, Principal } from './auth/authenticator.js';
import type { PasswordHasher } from './auth/passwords.js';
import type { SignInLimiter } from './auth/sign-in-limiter.js';
import type { ServerConfig } from './config.js';
import type { ConversationOwners } from './conversation-owners.js';
import type { Idempotency } from './middleware/idempotency.js';
import type { RateLimiter } from './middleware/rate-limit.js';
import type { Metrics } from './metrics.js';
import type { Hub } from './sse/hub.js';
import type { Tickets } from './sse/tickets.js';
import type { Deliverer } from './webhooks/deliverer.js';

/** What every route may use. Built once in app.ts; routes never reach past it into SQL or sockets. */
export interface AppContext {
  config: ServerConfig;
  store: Store;
  auth: Authenticator;
  idempotency: Idempotency;
  limiter: RateLimiter;
  /** Signs cursors; the same on every instance of one database. */
  cursorSecret: Uint8Array;
  metrics: Metrics;
  hub: Hub;
  conversations: ConversationOwners;
  tickets: Tickets;
  /** Failed agent sign-ins per email and per address. */
  signIns: SignInLimiter;
  /** Hashes and checks agent passwords on threads of their own, through one bounded queue. */
  passwords: PasswordHasher;
  /** Sends webhook deliveries; routes wake it when they make deliveries due. */
  webhooks: Deliverer;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}
