import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The console's page, built in memory by esbuild when a server first needs it: nothing to build by
 * hand, nothing stale on disk, and no CDN (Preact is bundled from node_modules). Why Preact:
 * docs/decisions/008-console-front-end.md.
 */

interface ConsoleAsset {
  body: Uint8Array;
  contentType: string;
}

/** By the path the page asks for: `/`, `/_console/app.js`, `/_console/app.css`, their source maps. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

const ASSET_PREFIX = '/_console/';
const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

function contentTypeOf(name: string): string {
  const type = Object.entries(CONTENT_TYPES).find(([suffix]) => name.endsWith(suffix))?.[1];
  if (!type) throw new Error(`the console build made ${name}, a file of no known type`);
  return type;
}

export async function buildConsoleAssets(): Promise<ConsoleAssets> {
  const result = await build({
    entryPoints: { app: `${WEB_DIR}main.tsx` },
    bundle: true,
    write: false,
    outdir: '/_console',
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    logLevel: 'silent',
  });
  const assets = new Map<string, ConsoleAsset>();
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    assets.set(`${ASSET_PREFIX}${name}`, { body: file.contents, contentType: contentTypeOf(name) });
  }
  assets.set('/', { body: await readFile(`${WEB_DIR}index.html`), contentType: 'text/html; charset=utf-8' });
  return assets;
}

let built: Promise<ConsoleAssets> | undefined;

/** One build per process, shared by every server in it; a failed build is tried again on the next call. */
export function consoleAssets(): Promise<ConsoleAssets> {
  built ??= buildConsoleAssets();
  built.catch(() => (built = undefined));
  return built;
}
