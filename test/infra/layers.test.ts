import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layer rules of DESIGN.md (Layout) that keep the AWS SDK and the Lambda code out of `cdk synth`:
 * infra/ imports contracts/ and nothing else of ours, and contracts/ imports only itself and zod.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sourcesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** Every module a source imports or re-exports, statically or dynamically, type-only ones included. */
function importsOf(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return specifiers.map((match) => match[1]!);
}

/** Where an import leads: the folder of ours (`infra`, `runtime`, ...) for a relative one, else the package. */
function targetOf(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
  return `./${relative(ROOT, resolve(ROOT, dirname(file), specifier)).split('/')[0]}`;
}

function importTargets(folder: string): Array<{ file: string; target: string }> {
  return sourcesUnder(folder).flatMap((file) =>
    importsOf(readFileSync(join(ROOT, file), 'utf8')).map((specifier) => ({ file, target: targetOf(file, specifier) })),
  );
}

describe('layers', () => {
  it('the import scan sees every kind of import (control)', () => {
    const source = [
      "import { a } from '../runtime/a.js';",
      "import type { B } from '../../runtime/b.js';",
      "export { c } from './c.js';",
      "export * from 'zod/mini';",
      "import 'side-effect';",
      'import {\n  d,\n  e,\n} from "@aws-sdk/client-s3";',
      "const f = await import('../local/f.js');",
      "const handlers = new URL('../../runtime/handlers/', import.meta.url);",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      '../runtime/a.js',
      '../../runtime/b.js',
      './c.js',
      'zod/mini',
      '@aws-sdk/client-s3',
      'side-effect',
      '../local/f.js',
    ]);
    expect(targetOf('infra/constructs/x.ts', '../../runtime/b.js')).toBe('./runtime');
    expect(targetOf('infra/x.ts', './constructs/y.js')).toBe('./infra');
    expect(targetOf('infra/x.ts', '@aws-sdk/client-s3')).toBe('@aws-sdk/client-s3');
  });

  it('infra/ imports contracts/ and CDK, never runtime/ (nor any other folder of ours, nor the AWS SDK)', () => {
    const targets = importTargets('infra');
    expect(targets.length).toBeGreaterThan(0);
    const ours = targets.filter(({ target }) => target.startsWith('./') && !['./infra', './contracts'].includes(target));
    expect(ours.map(({ file, target }) => `${file} → ${target}`)).toEqual([]);
    const packages = new Set(targets.filter(({ target }) => !target.startsWith('./')).map(({ target }) => target));
    expect([...packages].filter((name) => !['aws-cdk-lib', 'constructs', 'cdk-nag'].includes(name) && !name.startsWith('node:'))).toEqual([]);
  });

  it('contracts/ imports only itself and zod: both sides may import it without the AWS SDK', () => {
    const targets = importTargets('contracts');
    expect(targets.filter(({ target }) => !['./contracts', 'zod'].includes(target)).map(({ file, target }) => `${file} → ${target}`)).toEqual([]);
  });
});
