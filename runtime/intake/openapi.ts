import document from '../../openapi.json' with { type: 'json' };

/**
 * GET /openapi.json answers the committed document. esbuild inlines the JSON into the intake's
 * bundle, so the generator (scripts/openapi/document.ts) and the schemas it needs stay out of it;
 * test/unit/openapi.test.ts keeps the file equal to what the generator writes.
 */
export const OPENAPI_PATH = '/openapi.json';

export const OPENAPI_DOCUMENT: unknown = document;
