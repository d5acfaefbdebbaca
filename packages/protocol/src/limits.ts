/** Org-API-Keys carry this prefix so clients (and people) can tell a server credential from a member token. */
export const API_KEY_PREFIX = 'ck_live_';

/**
 * Every prefix an Org-API-Key may carry: `ck_live_` by default, or one chosen at creation
 * (`concierge keys create --prefix expys_live_`) so that a backend on the hosted API's official SDK, which takes a
 * credential for a server key only if it starts with `expys_`, runs unchanged (docs/auth.md). Member tokens are
 * JWTs (`eyJ…`) and tickets start `tkt_`, so neither can match.
 */
export const API_KEY_PREFIX_PATTERN = /^[a-z]+_(?:live|sandbox)_/;

export const LIMITS = {
  /** Page size bounds for listMessages. */
  pageDefault: 50,
  pageMax: 100,
  /** Default maximum message length in characters (configurable on the server). */
  messageMaxChars: 4000,
  idempotencyKeyMaxChars: 255,
  externalUserIDMaxChars: 255,
  titleMaxChars: 200,
  typeMaxChars: 64,
  profileFieldMaxChars: 320,
  /** A member's `attributes`: at most this many bytes as JSON (UTF-8), and objects or arrays nested this deep. */
  attributesMaxBytes: 16 * 1024,
  attributesMaxDepth: 8,
  /** Page size bounds for `GET /v1/members`. */
  membersPageDefault: 50,
  membersPageMax: 100,
  bodyLimitBytes: 64 * 1024,
  /** An agent's password: at least this many characters (code points). */
  passwordMinChars: 12,
} as const;
