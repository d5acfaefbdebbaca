import swagger, { type SwaggerTransformObject } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { SECURITY_SCHEMES, webhooksSection } from '@concierge/protocol/contract';

/**
 * The OpenAPI 3.1 document, built by @fastify/swagger from the routes, which are registered from the contract's
 * operation table (every route registered after this plugin is in it): each operation's schemas and `security`,
 * plus the table's security schemes (one per credential kind) and its `webhooks` section. Served at `GET /openapi.json`; `npm run build` writes it to docs/openapi.json
 * (scripts/write-openapi.mjs), and a test fails when the two differ.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Concierge HTTP API',
        version: '1',
        description:
          'A private line from each member to the org’s concierge team. Prose, examples and the order of checks: ' +
          'docs/api.md; errors: docs/errors.md; streams: docs/sse.md; idempotency: docs/idempotency.md.',
      },
      tags: [
        { name: 'Auth' },
        { name: 'Conversations' },
        { name: 'Messages' },
        { name: 'Streams' },
        { name: 'Agents', description: 'Agent sign-in and management.' },
        { name: 'Inbox', description: 'The team: agents and the Org-API-Key. Never a member token.' },
        { name: 'Members', description: 'Server-only: Org-API-Key.' },
        { name: 'Webhooks', description: 'Server-only: Org-API-Key. Delivery format: docs/webhooks.md.' },
        { name: 'Operations', description: 'Unauthenticated, outside /v1.' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
      webhooks: webhooksSection(),
    },
    transform: jsonSchemaTransform,
    transformObject,
  });
}

/**
 * The zod plugin adds every named schema, in an input and an output variant, whether a route uses it or not;
 * keep only those the document refers to (directly or through another kept schema).
 */
const transformObject: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input);
  if (!('openapi' in document) || document.components?.schemas === undefined) return document;
  const { components, ...rest } = document;
  // A fresh object on every call (the plugin spreads it), so it may be pruned in place.
  const schemas: Record<string, unknown> = components.schemas!;
  const refs = (value: unknown) =>
    [...JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
  const kept = new Set<string>();
  const queue = refs(rest);
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (kept.has(name)) continue;
    kept.add(name);
    queue.push(...refs(schemas[name]));
  }
  for (const name of Object.keys(schemas)) if (!kept.has(name)) delete schemas[name];
  return document;
};
