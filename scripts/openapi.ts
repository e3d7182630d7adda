import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApiJson } from './openapi/document.js';

/**
 * `npm run openapi`: writes the API's OpenAPI document to openapi.json at the repository root.
 * `npm run openapi -- --check`: exits 1 if the committed file differs from what would be written.
 */
const target = fileURLToPath(new URL('../openapi.json', import.meta.url));
const rendered = renderOpenApiJson();

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // A missing file differs too.
  }
  if (committed !== rendered) {
    console.error('openapi.json is out of date: run `npm run openapi`');
    process.exit(1);
  }
  console.log('openapi.json is up to date');
} else {
  writeFileSync(target, rendered);
  console.log(`wrote ${target}`);
}
