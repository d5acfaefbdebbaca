import { z } from 'zod';
import { ANY_ROUTE_ERRORS, errorResponses } from './errors.js';
import { okResponse, readyResponse } from './wire.js';

/** Outside `/v1` and unauthenticated: `security: []` overrides the document's bearer requirement. */
const open = { tags: ['Operations'], security: [] };

export const healthzSchema = {
  ...open,
  operationId: 'healthz',
  summary: 'Liveness: the process answers',
  response: { 200: okResponse, ...errorResponses(...ANY_ROUTE_ERRORS) },
};

export const readyzSchema = {
  ...open,
  operationId: 'readyz',
  summary: 'Readiness: the store answers, writes succeed, and no shutdown has begun',
  response: { 200: readyResponse, ...errorResponses(...ANY_ROUTE_ERRORS, 'UNAVAILABLE') },
};

export const openApiSchema = {
  ...open,
  operationId: 'openapi',
  summary: 'This document (OpenAPI 3.1)',
  response: {
    200: z.looseObject({ openapi: z.string() }).meta({ description: 'The OpenAPI document.' }),
    // The per-address rate limit spares only the health checks.
    ...errorResponses(...ANY_ROUTE_ERRORS, 'RATE_LIMITED'),
  },
};
