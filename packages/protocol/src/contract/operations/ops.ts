import { z } from 'zod';
import { ANY_ROUTE_ERRORS, errorResponses } from '../errors.js';
import { operation } from '../operation.js';
import { okResponse, readyResponse } from '../wire.js';

/** Outside `/v1` and unauthenticated, for load balancers and tools. */
const open = { tags: ['Operations'], callers: 'public', refusal: 'FORBIDDEN' } as const;

export const healthz = operation({
  ...open,
  operationId: 'healthz',
  method: 'GET',
  path: '/healthz',
  summary: 'Liveness: the process answers',
  response: { 200: okResponse, ...errorResponses(...ANY_ROUTE_ERRORS) },
});

export const readyz = operation({
  ...open,
  operationId: 'readyz',
  method: 'GET',
  path: '/readyz',
  summary: 'Readiness: the store answers, writes succeed, and no shutdown has begun',
  response: { 200: readyResponse, ...errorResponses(...ANY_ROUTE_ERRORS, 'UNAVAILABLE') },
});

export const openapi = operation({
  ...open,
  operationId: 'openapi',
  method: 'GET',
  path: '/openapi.json',
  summary: 'This document (OpenAPI 3.1)',
  response: {
    200: z.looseObject({ openapi: z.string() }).meta({ description: 'The OpenAPI document.' }),
    // The per-address rate limit spares only the health checks.
    ...errorResponses(...ANY_ROUTE_ERRORS, 'RATE_LIMITED'),
  },
});
