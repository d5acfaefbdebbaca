import { z } from 'zod';
import { errorResponses } from './errors.js';
import { okResponse, readyResponse } from './wire.js';

/** Outside `/v1` and unauthenticated: `security: []` overrides the document's bearer requirement. */
const open = { tags: ['Operations'], security: [] };

export const healthzSchema = {
  ...open,
  operationId: 'healthz',
  summary: 'Liveness: the process answers',
  response: { 200: okResponse, ...errorResponses('INTERNAL') },
};

export const readyzSchema = {
  ...open,
  operationId: 'readyz',
  summary: 'Readiness: the store answers and no shutdown has begun',
  response: { 200: readyResponse, ...errorResponses('INTERNAL', 'UNAVAILABLE') },
};

export const openApiSchema = {
  ...open,
  operationId: 'openapi',
  summary: 'This document (OpenAPI 3.1)',
  response: {
    200: z.looseObject({ openapi: z.string() }).meta({ description: 'The OpenAPI document.' }),
    ...errorResponses('INTERNAL'),
  },
};
