import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { decodeUtf8, inspectJson } from './well-formed.js';

/**
 * How deep a body may nest. Every body of this API is a flat object; 32 leaves room for any future shape while
 * keeping every walker (fingerprints, validators, serializers) far from the call stack's limit.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * The one body parser: only `application/json`, decoded as strict UTF-8 (invalid bytes are 400, never silently
 * replaced by U+FFFD), parsed, then walked once for nesting depth and lone surrogates (422 naming the field). So
 * every route gets a body whose every string reads back byte-identical, and nothing half-valid reaches a handler.
 * An empty body is "no body", not a parse error. Anything but JSON is 415 (Fastify's own error, mapped in app.ts).
 */
export function registerJsonBody(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0) return done(null, undefined);
    const text = decodeUtf8(bytes);
    if (text === null) return done(new ApiError('BAD_REQUEST', 'The body is not valid UTF-8.'), undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return done(new ApiError('BAD_REQUEST', 'The body is not valid JSON.'), undefined);
    }
    const problem = inspectJson(value, MAX_JSON_DEPTH);
    if (problem !== null) {
      const message =
        problem.reason === 'depth'
          ? `\`${problem.field}\` nests deeper than ${MAX_JSON_DEPTH} levels.`
          : `\`${problem.field}\` must be well-formed Unicode (it has a lone UTF-16 surrogate).`;
      return done(new ApiError('VALIDATION', message, { field: problem.field }), undefined);
    }
    done(null, value);
  });
}
