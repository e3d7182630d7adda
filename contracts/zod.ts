import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * The one zod of contracts/, infra/ and runtime/ (runtime imports it through runtime/domain/zod.ts):
 * zod/mini, zod v4's functional API, which tree-shakes (classic `zod` hangs every method on every
 * schema, so a bundle carried all of zod, about 440 KiB). Same core, so the schemas parse, fail and
 * convert to JSON Schema as classic ones do, and local code written in classic zod can nest them.
 *
 * Import it as a namespace, `import * as z from './zod.js'`: esbuild drops what a namespace import
 * never reads, but a namespace object passed on as a value (zod/mini's own `z` export) keeps every
 * locale and schema kind in the bundle.
 *
 * Unlike classic zod, zod/mini loads no locale: without English, every issue we give no message of
 * our own would read "Invalid input", and the intake returns those messages to users (and the CDK
 * context checks print them). Importing zod from here only sets the locale before any schema parses.
 */
config(en());

export * from 'zod/mini';
