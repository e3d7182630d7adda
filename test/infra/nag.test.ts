import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, NagRuleCompliance, type IApplyRule } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { acknowledge } from '../../infra/constructs/nag.js';
import { createPipelineApp } from '../../infra/pipeline-app.js';
import type { VideoPipelineStack } from '../../infra/stack.js';

/**
 * cdk-nag v3 is a CDK policy-validation plugin (`Validations.of(app).addPlugins`), no longer an
 * Aspect: its findings go to the cloud assembly's validation-report.json and fail the synth,
 * and accepted ones are acknowledged with `Validations.of(resource).acknowledge`, by the construct that
 * owns the resource (infra/constructs/nag.ts).
 */

interface Finding {
  rule: string;
  path: string;
}

/**
 * AwsSolutions as written, but blind to acknowledgments: it records every finding (through the
 * protected `applyRule` custom packs use), so each acknowledgment can be matched to one it silences.
 */
class UnacknowledgedAwsSolutionsChecks extends AwsSolutionsChecks {
  readonly findings: Finding[] = [];
  protected override applyRule(params: IApplyRule): void {
    const rule = `${this.readPackName}-${params.ruleSuffixOverride ?? params.rule.name}`;
    const path = params.node.node.path;
    let result: ReturnType<IApplyRule['rule']>;
    try {
      result = params.rule(params.node);
    } catch {
      // cdk-nag reports a rule that throws (an unresolvable intrinsic) as a finding of that rule.
      result = NagRuleCompliance.NON_COMPLIANT;
    }
    if (result === NagRuleCompliance.NON_COMPLIANT) this.findings.push({ rule, path });
    else if (Array.isArray(result)) for (const finding of result) this.findings.push({ rule: `${rule}[${finding}]`, path });
  }
}

interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    conclusion: 'success' | 'failure';
    violations: Array<{ ruleName: string; severity?: string; violatingConstructs: Array<{ constructPath?: string }> }>;
  }>;
}
const reportIn = (outdir: string) => JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** The app `cdk synth` runs (infra/pipeline-app.ts), which registers cdk-nag itself. */
function synthesizeWithNag(addToStack?: (stack: VideoPipelineStack) => void): { app: App; stack: VideoPipelineStack; outdir: string; error?: Error } {
  const outdir = mkdtempSync(join(tmpdir(), 'video-pipeline-nag-'));
  tempDirs.push(outdir);
  const { app, stack } = createPipelineApp({ outdir, context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  addToStack?.(stack);
  try {
    app.synth();
    return { app, stack, outdir };
  } catch (error) {
    return { app, stack, outdir, error: error as Error };
  }
}

/** Each acknowledgment recorded anywhere in the tree, as cdk-nag reads them (construct metadata). */
function acknowledgmentsIn(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

let synthesized: ReturnType<typeof synthesizeWithNag>;
beforeAll(() => {
  synthesized = synthesizeWithNag();
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning: the synth passes with the plugin registered', () => {
    // What the plugin sees, as a readable list (verbose: the rule's explanation too).
    const report = new AwsSolutionsChecks(synthesized.app, { verbose: true }).validateScope(synthesized.app);
    const findings = report.violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.severity} ${violation.ruleName} ${resource.constructPath}: ${violation.description}`),
    );
    expect(findings).toEqual([]);
    expect(synthesized.error?.message).toBeUndefined();
  });

  it("the synth's validation report lists no failing plugin (a passing plugin is left out of it)", () => {
    expect(reportIn(synthesized.outdir).pluginReports).toEqual([]);
  });

  it('holds for a stack with an account and a region too, as `cdk synth` gives it (ARNs then name the region)', () => {
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '123456789012');
    vi.stubEnv('CDK_DEFAULT_REGION', 'eu-west-1');
    try {
      const located = synthesizeWithNag();
      expect(located.stack.region).toBe('eu-west-1');
      expect(located.error?.message).toBeUndefined();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('a new finding fails the synth, whatever the stack acknowledges (control)', () => {
    const broken = synthesizeWithNag((stack) => new Queue(stack, 'PlainQueue', { enforceSSL: false }));
    expect(broken.error?.message).toMatch(/AwsSolutions-SQS4/);
    const nag = reportIn(broken.outdir).pluginReports.find((plugin) => plugin.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('failure');
    const found = nag!.violations.flatMap((violation) => violation.violatingConstructs.map((construct) => `${violation.ruleName} ${construct.constructPath}`));
    // SQS3 (no dead-letter queue) and SQS4 (no SSL) on the new queue, and nothing else.
    expect(found.sort()).toEqual(['AwsSolutions-SQS3 VideoPipeline/PlainQueue/Resource', 'AwsSolutions-SQS4 VideoPipeline/PlainQueue/Resource']);
  });

  it('the checks are live: without its acknowledgments the stack has findings (control)', () => {
    const raw = new UnacknowledgedAwsSolutionsChecks(synthesized.app);
    raw.validateScope(synthesized.app);
    expect(raw.findings.length).toBeGreaterThan(0);
    // The raw pass sees exactly what the acknowledged one does, plus what was acknowledged.
    const acknowledged = acknowledgmentsIn(synthesized.app);
    const unsilenced = raw.findings.filter(
      (finding) => !acknowledged.some((ack) => ack.id === finding.rule && (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`))),
    );
    expect(unsilenced).toEqual([]);
  });
});

describe('the acknowledged findings (made by each construct, infra/constructs/nag.ts)', () => {
  const acknowledged = () => acknowledgmentsIn(synthesized.app);

  it('are each made once per resource and rule (the validation report keeps one reason per resource and rule)', () => {
    const recorded = acknowledged().map((ack) => `${ack.path} ${ack.id}`);
    expect(recorded.length).toBeGreaterThan(0);
    expect(new Set(recorded).size).toBe(recorded.length);
  });

  it('each has a specific written reason', () => {
    for (const { path, id, reason } of acknowledged()) {
      expect(reason.trim().length, `${path} ${id}`).toBeGreaterThanOrEqual(40);
      expect(reason, `${path} ${id}`).not.toMatch(/^(todo|n\/a|ok|fine|not needed|suppress(ed)?)\b/i);
    }
  });

  it('each sits on the CloudFormation resource it concerns, never on a parent or the stack', () => {
    for (const { path, id } of acknowledged()) expect(path, id).toMatch(/\/Resource$/);
  });

  it('none is unused: each silences a finding the checks report on exactly that resource', () => {
    const raw = new UnacknowledgedAwsSolutionsChecks(synthesized.app);
    raw.validateScope(synthesized.app);
    const unused = acknowledged()
      .filter(({ path, id }) => !raw.findings.some((finding) => finding.rule === id && finding.path === path))
      .map(({ path, id }) => `${path} ${id}`);
    expect(unused).toEqual([]);
  });

  it('IAM wildcard findings are acknowledged one finding at a time, never the whole rule', () => {
    for (const { id } of acknowledged()) {
      if (/^AwsSolutions-IAM[45]/.test(id)) expect(id).toMatch(/^AwsSolutions-IAM[45]\[(Resource|Action|Policy)::.+\]$/);
    }
  });

  it('are made in the constructs, beside their resources: the stack and the app acknowledge nothing', () => {
    for (const file of ['stack.ts', 'app.ts']) {
      const source = readFileSync(fileURLToPath(new URL(`../../infra/${file}`, import.meta.url)), 'utf8');
      expect(source, file).not.toMatch(/\.acknowledge\(/);
    }
  });

  it('a second acknowledgment of one finding on one resource is refused, so no reason is silently replaced (control)', () => {
    const queue = new Queue(new Stack(new App(), 'Control'), 'Queue', { enforceSSL: true });
    acknowledge(queue, 'AwsSolutions-SQS3', 'a control queue of this test, which nothing ever sends a message to');
    expect(() => acknowledge(queue, 'AwsSolutions-SQS3', 'the same finding, acknowledged again for another reason')).toThrow(
      /Control\/Queue\/Resource: AwsSolutions-SQS3 is acknowledged already/,
    );
  });
});
