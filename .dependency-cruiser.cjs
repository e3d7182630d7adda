/**
 * The layer rules of the layout (docs/architecture.md, "Layout"), checked by `npm run lint` (and so by
 * `npm test`). Type-only imports count: a type that reaches across a layer is a dependency too.
 */
const OURS_BUT_CONTRACTS = '^(runtime|local|cli|bench|testkit|test|console|scripts)/';

module.exports = {
  forbidden: [
    {
      name: 'infra-imports-contracts-only',
      comment: 'infra/ is CDK only: of our code it imports contracts/ alone, so synth never loads the runtime or the AWS SDK',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: OURS_BUT_CONTRACTS },
    },
    {
      name: 'infra-no-aws-sdk',
      comment: 'the AWS SDK belongs to the runtime; infra/ describes resources with aws-cdk-lib',
      severity: 'error',
      from: { path: '^infra/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], path: '^node_modules/@aws-sdk/' },
    },
    {
      name: 'contracts-imports-itself-and-zod',
      comment: 'both sides import contracts/: it must pull in nothing but zod',
      severity: 'error',
      from: { path: '^contracts/' },
      to: { pathNot: ['^contracts/', '^node_modules/zod/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'runtime-never-imports-infra-or-local',
      comment: 'what runs on Lambda knows nothing of the CDK app or the offline stack',
      severity: 'error',
      from: { path: '^runtime/' },
      to: { path: '^(infra|local|cli|bench|testkit|test|console|scripts)/' },
    },
    {
      name: 'tests-and-bench-share-testkit',
      comment: 'tests and the bench share testkit/ and never import each other',
      severity: 'error',
      from: { path: '^(test|testkit)/' },
      to: { path: '^bench/' },
    },
    {
      name: 'bench-does-not-import-tests',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment: 'an import circle, type-only imports included, hides which module owns what',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'aws-lambda is the types-only package @types/aws-lambda: nothing to resolve at run time',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, pathNot: '^aws-lambda$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk\\.out|\\.local|out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
