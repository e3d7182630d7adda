import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { pipelineConfigFrom } from '../../infra/config.js';
import { featureFlags } from '../../infra/feature-flags.js';
import { createPipelineApp } from '../../infra/pipeline-app.js';
import { VideoPipelineStack } from '../../infra/stack.js';
import { handlerFileOf, resourcesOfType, type CfnJson } from '../../testkit/cfn-template.js';

const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const CLI_TIMEOUT_MS = 90_000;

const tempDirs: string[] = [];
const tempDir = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `video-pipeline-${label}-`));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{ ruleName: string; description: string; severity: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
}

/** Every finding of the built-in CloudFormation validation, as `severity rule path: description`. */
function violationsIn(assemblyDir: string): string[] {
  // The file is written whenever the validation ran: its absence means it did not run, which fails the test.
  const report = JSON.parse(readFileSync(join(assemblyDir, 'validation-report.json'), 'utf8')) as ValidationReport;
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map(
      (violation) =>
        `${violation.severity} ${violation.ruleName} ${violation.violatingConstructs.map((construct) => construct.constructPath).join(',')}: ${violation.description}`,
    ),
  );
}

describe('synthesis with CloudFormation validation on (the closest thing to a deploy offline)', () => {
  it('the stack synthesizes to a template with no validation findings and no error annotations', () => {
    // The default App: the built-in validation checks every resource against the CloudFormation schemas.
    const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] }, outdir: tempDir('validated') });
    const stack = new VideoPipelineStack(app, 'VideoPipeline', {
      config: pipelineConfigFrom((key) => app.node.tryGetContext(key)),
    });
    const assembly = app.synth();
    expect(violationsIn(assembly.directory)).toEqual([]);
    const artifact = assembly.getStackArtifact(stack.artifactId);
    expect(artifact.messages.filter((message) => message.level === 'error').map((message) => `${message.id}: ${String(message.entry.data)}`)).toEqual([]);
    const template = artifact.template as CfnJson;
    // The generation workflow and the webhook delivery machine.
    expect(resourcesOfType(template, 'AWS::StepFunctions::StateMachine')).toHaveLength(2);
  });

  it('the validation is live: a resource that breaks its schema is reported (control)', () => {
    const app = new App({ outdir: tempDir('broken') });
    const stack = new Stack(app, 'Broken');
    new CfnResource(stack, 'BadTable', { type: 'AWS::DynamoDB::Table', properties: { BillingMode: 'SOMETIMES' } });
    // The findings are expected here: keep them out of the test output.
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const assembly = app.synth();
      expect(violationsIn(assembly.directory)).toContainEqual(expect.stringMatching(/ Broken\/BadTable: BillingMode: 'SOMETIMES'/));
    } finally {
      printed.mockRestore();
    }
  });
});

describe('CDK feature flags (cdk.json)', () => {
  it('sets every flag aws-cdk-lib recommends, at the recommended value (a CDK upgrade that adds one fails here until it is reviewed)', () => {
    const recommended = JSON.parse(readFileSync(join(PROJECT_DIR, 'node_modules/aws-cdk-lib/recommended-feature-flags.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(featureFlags()).toEqual(recommended);
  });

  it('reach a synthesis in-process as they reach `cdk synth`', () => {
    const { app } = createPipelineApp({ context: { 'aws:cdk:bundling-stacks': [] } });
    for (const [flag, value] of Object.entries(featureFlags())) expect(app.node.tryGetContext(flag), flag).toEqual(value);
  });
});

describe('cdk CLI', () => {
  it(
    '`cdk synth` succeeds offline, bundles every function and writes a template',
    async () => {
      const outdir = tempDir('cli');
      const { code, output } = await run('npx', ['cdk', 'synth', '--no-notices', '--quiet', '-o', outdir], CLI_TIMEOUT_MS);
      expect(code, output).toBe(0);
      const templatePath = join(outdir, 'VideoPipeline.template.json');
      expect(existsSync(templatePath), output).toBe(true);
      const template = JSON.parse(readFileSync(templatePath, 'utf8')) as CfnJson;
      // The generation workflow and the webhook delivery machine.
      expect(resourcesOfType(template, 'AWS::StepFunctions::StateMachine')).toHaveLength(2);
      // Every validation plugin passed, cdk-nag's included (the next test shows it runs here).
      expect(violationsIn(outdir)).toEqual([]);

      // Each function's code is an esbuild bundle staged in the assembly (the CLI runs bundling; the tests skip it).
      const assets = JSON.parse(readFileSync(join(outdir, 'VideoPipeline.assets.json'), 'utf8')) as {
        files: Record<string, { source: { path: string; packaging?: string } }>;
      };
      // Our functions (they name their handler file), and no other.
      const functions = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) => handlerFileOf(fn) !== undefined);
      expect(functions.map(([, fn]) => handlerFileOf(fn)).sort()).toEqual([
        'admission',
        'announce-outcome',
        'batch-runner',
        'deliver-webhook',
        'describe-failure',
        'intake',
        'poll-task',
        's3-trigger',
        'store-video',
        'submit-task',
        'sweeper',
        'token-authorizer',
      ]);
      const others = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) => handlerFileOf(fn) === undefined);
      expect(others).toEqual([]);
      for (const [functionId, fn] of functions) {
        const s3Key = String((fn.Properties!.Code as { S3Key: unknown }).S3Key);
        const asset = assets.files[s3Key.replace(/\.zip$/, '')];
        expect(asset, `${functionId} has no staged asset`).toBeDefined();
        expect(readdirSync(join(outdir, asset!.source.path)), functionId).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
      }
    },
    CLI_TIMEOUT_MS + 10_000,
  );

  it(
    '`cdk synth` fails on a finding no construct acknowledges: cdk-nag runs in the deployed app (infra/pipeline-app.ts), so `cdk deploy` stops there too (control)',
    async () => {
      const outdir = tempDir('cli-finding');
      const app = 'npx tsx test/infra/fixtures/unacknowledged-finding-app.ts';
      const { code, output } = await run('npx', ['cdk', 'synth', '--no-notices', '--quiet', '-o', outdir, '--app', app], CLI_TIMEOUT_MS);
      expect(code, output).not.toBe(0);
      // The queue's two findings, each named with the rule and the resource; nothing of the pipeline's own.
      expect(output).toMatch(/AwsSolutions-SQS3/);
      expect(output).toMatch(/AwsSolutions-SQS4/);
      const findings = output
        .split('\n')
        .filter((line) => /^\s+VideoPipeline\/\S+ /.test(line))
        .map((line) => line.trim().split(' ')[0]);
      expect(findings).toEqual(['VideoPipeline/PlainQueue/Resource', 'VideoPipeline/PlainQueue/Resource']);
    },
    CLI_TIMEOUT_MS + 10_000,
  );
});

/** Runs a command in the project; on timeout kills its whole process group (npx → cdk → tsx → esbuild). */
function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: PROJECT_DIR,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
