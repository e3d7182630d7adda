import { describe, expect, it } from 'vitest';
import { buildConsoleAssets } from '../../console/build.js';

/** The console's page is built in memory by esbuild at `npm start` and by `video-pipeline console`. */
describe('the console build', () => {
  it('bundles the page, its script and its styles from the project alone', async () => {
    const assets = await buildConsoleAssets();
    expect([...assets.keys()].sort()).toEqual(['/', '/_console/app.css', '/_console/app.css.map', '/_console/app.js', '/_console/app.js.map']);
    const html = new TextDecoder().decode(assets.get('/')!.body);
    expect(html).toContain('<script type="module" src="/_console/app.js">');
    expect(html).toContain('<link rel="stylesheet" href="/_console/app.css" />');
    const script = new TextDecoder().decode(assets.get('/_console/app.js')!.body);
    // Works offline: nothing is loaded from another host (no CDN), every import is bundled.
    expect(script).not.toMatch(/\bimport\s*\(?\s*["'`]https?:/);
    expect(script).not.toMatch(/^import\s/m);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(assets.get('/_console/app.js')!.contentType).toBe('text/javascript; charset=utf-8');
    // Preact is in the bundle, and small enough for a page this size.
    expect(script.length).toBeLessThan(150_000);
  });
});
