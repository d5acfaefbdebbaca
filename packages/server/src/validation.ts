import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import type { z } from 'zod';
import { ApiError } from './errors.js';

/**
 * How route schemas (the operation table of `@concierge/protocol/contract`) are run. Fastify validates params, body, query and headers, in that order,
 * before the handler; the first problem becomes 422 VALIDATION with `error.field` naming the field, so nothing
 * half-valid ever reaches the store, and the handler gets the parsed, typed value.
 */

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

type Where = 'body' | 'query' | 'params' | 'headers';

/** Parses `value` or throws 422 VALIDATION naming the first offending field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.output<S> {
  if (where === 'body' && (value === null || typeof value !== 'object' || Array.isArray(value)))
    throw new ApiError('VALIDATION', 'The body must be a JSON object.', { field: 'body' });
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // A path parameter's problem is reported as `query`: clients already match on that field name for a bad id.
  const field = where === 'params' ? 'query' : issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  const message =
    issue.code === 'invalid_type' && valueAt(value, issue.path) === undefined ? 'is required' : issue.message;
  throw new ApiError('VALIDATION', `\`${field}\` ${message}.`, { field });
}

const WHERE: Record<string, Where> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/**
 * Fastify's validator compiler for zod schemas. The error it returns is our ApiError, which Fastify passes to
 * the error handler as is (it only adds `statusCode` and `validationContext`), so the envelope is the same one
 * every other refusal uses. Headers are only checked, never replaced: the rest of the app reads `req.headers`.
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const where = WHERE[httpPart ?? 'body'] ?? 'body';
  return (data: unknown) => {
    try {
      const value: unknown = parse(schema, data, where);
      return where === 'headers' ? { value: data } : { value };
    } catch (error) {
      return { error: error as ApiError };
    }
  };
};

/**
 * Response schemas declare answers (the OpenAPI document, the handlers' return types); they are not run on the
 * way out. Answers are serialized with JSON.stringify, because running zod (or building fast-json-stringify
 * serializers) on every send and list would cost time for no change in bytes; the contract fuzz suite
 * (packages/tests/src/contract-fuzz.test.ts) checks real answers against the declarations.
 */
export const serializerCompiler: FastifySerializerCompiler<unknown> = () => (data) => JSON.stringify(data);
