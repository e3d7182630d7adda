/**
 * Bundles: every function of the synthesized stack (found by its `video-pipeline:handler` metadata,
 * the same pairing the local stack uses) bundled as infra/constructs/house-function.ts has the CDK bundle it:
 * esbuild, ESM, minified, tree-shaken, target node24, platform node, linked source map, the same
 * banner and mainFields, and CDK's default externals for a Node ≥ 18 runtime (`@aws-sdk/*`, which the
 * Lambda runtime provides; also `@smithy/*` when the sdkV3ExcludeSmithyPackages flag is set).
 *
 * Baseline: the same bundles unminified and without tree-shaking.
 *
 * Cold import: a fresh `node` per sample (the one running this bench), NODE_OPTIONS=--enable-source-maps
 * as the function sets it, the function's environment from the template with dummy values for the
 * intrinsics, and the timer around `await import(bundle)` only; median of BENCH_BUNDLE_IMPORTS (5).
 * The externals resolve to this repo's node_modules, as the runtime's copy of the SDK would.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { synthesizePipelineTemplate, type CfnTemplate } from '../local/stack/cloud-assembly.js';
import { handlerFileOfFunction } from '../local/stack/handler-modules.js';
import { logicalIdsOfType, resolveIntrinsics } from '../local/stack/template-resolver.js';
import { REPO_ROOT } from './child.js';
import { formatTable } from '../testkit/table.js';
import { integerEnv, median, round, type Log, type SectionReport, type SummaryRow } from './report.js';

const KIB = 1024;
/** The targets (the README's bench table): intake ≤ 300 KB, every other function ≤ 500 KB (KB read as KiB, of the .mjs without its map). */
const TARGET_KIB: Record<string, number> = { intake: 300 };
const DEFAULT_TARGET_KIB = 500;
const BANNER = "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);";

interface FunctionInfo {
  logicalId: string;
  handlerFile: string;
  environment: Record<string, string>;
}

function functionsOf(template: CfnTemplate): FunctionInfo[] {
  const byFile = new Map<string, FunctionInfo>();
  for (const logicalId of logicalIdsOfType(template, 'AWS::Lambda::Function')) {
    let handlerFile: string;
    try {
      handlerFile = handlerFileOfFunction(template, logicalId);
    } catch {
      continue; // CDK's own helper functions (custom resources) carry no handler metadata
    }
    const properties = template.Resources[logicalId]!.Properties as { Environment?: { Variables?: Record<string, unknown> } };
    const variables = resolveIntrinsics(template, properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    const environment = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)]));
    if (!byFile.has(handlerFile)) byFile.set(handlerFile, { logicalId, handlerFile, environment });
  }
  return [...byFile.values()].sort((a, b) => a.handlerFile.localeCompare(b.handlerFile));
}

function cdkExternals(): string[] {
  const context = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  return context['@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages'] === true ? ['@aws-sdk/*', '@smithy/*'] : ['@aws-sdk/*'];
}

interface BundleFigures {
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  inputs: number;
  inputBytes: number;
  importMs: number[];
  importMsMedian: number;
  /** Bytes each package (or "our code") contributes to the output, largest first. */
  packages: { name: string; bytes: number }[];
}

function packagesOf(metafile: Metafile): { name: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? 'our code';
      totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

async function bundle(handlerFile: string, outdir: string, minified: boolean, externals: string[]) {
  const outfile = join(outdir, minified ? 'ours' : 'baseline', handlerFile, 'index.mjs');
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'runtime', 'handlers', `${handlerFile}.ts`)],
    bundle: true,
    outfile,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: minified,
    treeShaking: minified,
    sourcemap: true,
    external: externals,
    mainFields: ['module', 'main'],
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'silent',
  });
  return { outfile, metafile: result.metafile! };
}

function importOnce(file: string, environment: Record<string, string>): Promise<number> {
  const script = `const t = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(file).href)}); const ms = performance.now() - t;
if (typeof m.handler !== 'function') throw new Error('no handler export'); process.stdout.write(JSON.stringify({ ms }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: environment,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`import of ${file} failed (${code}): ${stderr.slice(0, 800)}`));
      resolve((JSON.parse(stdout) as { ms: number }).ms);
    });
  });
}

export async function runBundlesBench(log: Log): Promise<SectionReport> {
  const samples = integerEnv('BENCH_BUNDLE_IMPORTS', 5);
  const externals = cdkExternals();
  log('bundles: synthesizing the stack to list its functions');
  const template = synthesizePipelineTemplate({ providerBaseUrl: 'https://www.anyfast.ai' });
  const functions = functionsOf(template);
  // Inside a temporary folder with a node_modules link, so the externals resolve as in the runtime.
  const outdir = await mkdtemp(join(tmpdir(), 'video-pipeline-bench-bundles-'));
  await symlink(join(REPO_ROOT, 'node_modules'), join(outdir, 'node_modules'), 'dir');
  try {
    const figures: { handlerFile: string; logicalId: string; ours: BundleFigures; baseline: BundleFigures }[] = [];
    for (const fn of functions) {
      const environment: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        // What the Lambda runtime sets; credentials are dummies, nothing is called at import.
        AWS_REGION: 'us-east-1',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDBENCH',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        ...fn.environment,
      };
      const measure = async (minified: boolean): Promise<BundleFigures> => {
        const { outfile, metafile } = await bundle(fn.handlerFile, outdir, minified, externals);
        const code = readFileSync(outfile);
        const importMs: number[] = [];
        for (let i = 0; i < samples; i += 1) importMs.push(await importOnce(outfile, environment));
        const inputs = Object.values(metafile.inputs);
        return {
          bytes: code.length,
          gzipBytes: gzipSync(code, { level: 9 }).length,
          mapBytes: statSync(`${outfile}.map`).size,
          inputs: inputs.length,
          inputBytes: inputs.reduce((sum, input) => sum + input.bytes, 0),
          importMs,
          importMsMedian: median(importMs),
          packages: packagesOf(metafile),
        };
      };
      const ours = await measure(true);
      const baseline = await measure(false);
      log(
        `bundles: ${fn.handlerFile}: ${(ours.bytes / KIB).toFixed(0)} KiB (gzip ${(ours.gzipBytes / KIB).toFixed(0)}), import ${ours.importMsMedian.toFixed(0)} ms; baseline ${(baseline.bytes / KIB).toFixed(0)} KiB, ${baseline.importMsMedian.toFixed(0)} ms`,
      );
      figures.push({ handlerFile: fn.handlerFile, logicalId: fn.logicalId, ours, baseline });
    }

    const rows: SummaryRow[] = [];
    for (const f of figures) {
      const target = TARGET_KIB[f.handlerFile] ?? DEFAULT_TARGET_KIB;
      rows.push({
        section: 'bundles',
        metric: `${f.handlerFile}: KiB (gzip KiB); cold import ms`,
        ours: `${round(f.ours.bytes / KIB, 1)} (${round(f.ours.gzipBytes / KIB, 1)}); ${Math.round(f.ours.importMsMedian)} ms`,
        baseline: `${round(f.baseline.bytes / KIB, 1)} (${round(f.baseline.gzipBytes / KIB, 1)}); ${Math.round(f.baseline.importMsMedian)} ms`,
        ratio: f.ours.bytes / f.baseline.bytes,
        target: `≤ ${target} KiB`,
        met: f.ours.bytes <= target * KIB,
      });
    }
    const importRatios = figures.map((f) => f.ours.importMsMedian / f.baseline.importMsMedian);
    rows.push({
      section: 'bundles',
      metric: `cold import ms, sum over ${figures.length} functions (median of ${samples} each)`,
      ours: Math.round(figures.reduce((sum, f) => sum + f.ours.importMsMedian, 0)),
      baseline: Math.round(figures.reduce((sum, f) => sum + f.baseline.importMsMedian, 0)),
      ratio: figures.reduce((sum, f) => sum + f.ours.importMsMedian, 0) / figures.reduce((sum, f) => sum + f.baseline.importMsMedian, 0),
      target: `(per-function ratios ${round(Math.min(...importRatios), 2)}–${round(Math.max(...importRatios), 2)})`,
    });
    const table = figures.map((f) => [
      f.handlerFile,
      round(f.ours.bytes / KIB, 1),
      round(f.ours.gzipBytes / KIB, 1),
      round(f.ours.mapBytes / KIB, 1),
      round(f.baseline.bytes / KIB, 1),
      round(f.baseline.gzipBytes / KIB, 1),
      f.ours.inputs,
      round(f.ours.inputBytes / KIB, 1),
      round(f.ours.importMsMedian, 1),
      round(f.baseline.importMsMedian, 1),
    ]);
    const notes = [
      `bundles: per function (KiB = 1,024 bytes; "bundled inputs" = the modules esbuild took in and their source size)\n${formatTable(
        ['function', 'KiB', 'gzip KiB', 'map KiB', 'baseline KiB', 'baseline gzip', 'bundled inputs', 'input KiB', 'import ms', 'baseline import ms'],
        table,
      )}`,
      `bundles: what fills each bundle (KiB in the minified output): ${figures
        .map(
          (f) =>
            `${f.handlerFile} ${f.ours.packages
              .slice(0, 3)
              .map((p) => `${p.name} ${round(p.bytes / KIB, 0)}`)
              .join(', ')}`,
        )
        .join('; ')}`,
      `bundles: ours = the CDK's settings (esbuild ${(await import('esbuild')).version}, ESM, minify, tree-shaking, target node24, platform node, linked source map, mainFields module,main, the house banner, external ${externals.join(' ')}); baseline = the same bundle unminified and with treeShaking off. Functions from the synthesized template's "video-pipeline:handler" metadata. Import time: fresh node ${process.version} per sample, --enable-source-maps via the function's NODE_OPTIONS, timer around import() only (process start-up excluded); the AWS SDK is external, so its load from node_modules is included in the time but not in the size.`,
    ];
    return { section: 'bundles', rows, notes, details: { externals, samples, node: process.version, functions: figures } };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
