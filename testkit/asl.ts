/**
 * A typed view of an Amazon States Language definition (JSONPath flavour) and a few graph helpers
 * for the infra tests: its edges, what is reachable, its loops, and Step Functions' defaults.
 */

export interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

export interface ChoiceRule {
  Next: string;
  Variable?: string;
  [comparison: string]: unknown;
}

export interface AslState {
  Type: 'Task' | 'Choice' | 'Wait' | 'Pass' | 'Succeed' | 'Fail' | 'Parallel' | 'Map';
  Next?: string;
  End?: boolean;
  Choices?: ChoiceRule[];
  Default?: string;
  Catch?: Catcher[];
  Retry?: Retrier[];
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
  TimeoutSeconds?: number;
  Seconds?: number;
  SecondsPath?: string;
  Error?: string;
  Cause?: string;
}

export interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  QueryLanguage?: string;
}

/** Step Functions' defaults for a Retrier field left out (ASL spec). */
export const RETRY_DEFAULTS = { IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 } as const;

export type EdgeKind = 'next' | 'choice' | 'default' | 'catch';

export interface Edge {
  from: string;
  to: string;
  kind: EdgeKind;
}

export function edgesOf(asl: Asl): Edge[] {
  const edges: Edge[] = [];
  for (const [from, state] of Object.entries(asl.States)) {
    if (state.Next) edges.push({ from, to: state.Next, kind: 'next' });
    for (const rule of state.Choices ?? []) edges.push({ from, to: rule.Next, kind: 'choice' });
    if (state.Default) edges.push({ from, to: state.Default, kind: 'default' });
    for (const catcher of state.Catch ?? []) edges.push({ from, to: catcher.Next, kind: 'catch' });
  }
  return edges;
}

/** `"A -kind-> B"`: edges as text, so a diff of two graphs reads well. */
export const edgeText = (edge: Edge) => `${edge.from} -${edge.kind}-> ${edge.to}`;

export function reachableFrom(asl: Asl, start: string): Set<string> {
  const edges = edgesOf(asl);
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length) {
    const from = queue.shift()!;
    for (const edge of edges) {
      if (edge.from === from && !seen.has(edge.to)) {
        seen.add(edge.to);
        queue.push(edge.to);
      }
    }
  }
  return seen;
}

/** The loops of the graph: strongly connected components with a cycle (Tarjan). */
export function loopsOf(asl: Asl): Array<Set<string>> {
  const edges = edgesOf(asl);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: Array<Set<string>> = [];
  let counter = 0;
  const visit = (state: string) => {
    index.set(state, counter);
    low.set(state, counter);
    counter += 1;
    stack.push(state);
    onStack.add(state);
    for (const { to } of edges.filter((edge) => edge.from === state)) {
      if (!index.has(to)) {
        visit(to);
        low.set(state, Math.min(low.get(state)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(state, Math.min(low.get(state)!, index.get(to)!));
      }
    }
    if (low.get(state) === index.get(state)) {
      const component = new Set<string>();
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.add(member);
      } while (member !== state);
      const selfLoop = edges.some((edge) => edge.from === state && edge.to === state);
      if (component.size > 1 || selfLoop) loops.push(component);
    }
  };
  for (const state of Object.keys(asl.States)) if (!index.has(state)) visit(state);
  return loops;
}

/** Every error name the state's retriers match, in order. */
export const retriedErrors = (state: AslState): string[] => (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);

/**
 * The retrier that handles `error`, as Step Functions picks it: the first whose ErrorEquals names it, or
 * holds a wildcard that matches it (States.ALL matches every error, States.TaskFailed every one but
 * States.Timeout). Only that retrier counts: when its attempts are used up the state fails, even if a
 * later retrier would match too.
 */
export function retrierFor(state: AslState, error: string): Retrier | undefined {
  return (state.Retry ?? []).find(
    (retrier) =>
      retrier.ErrorEquals.includes(error) ||
      retrier.ErrorEquals.includes('States.ALL') ||
      (retrier.ErrorEquals.includes('States.TaskFailed') && error !== 'States.Timeout'),
  );
}

/** True when the state repeats after `error`: a retrier matches it and has attempts (MaxAttempts 0 only stops it). */
export function isRetried(state: AslState, error: string): boolean {
  const retrier = retrierFor(state, error);
  return retrier !== undefined && (retrier.MaxAttempts ?? RETRY_DEFAULTS.MaxAttempts) > 0;
}

/** Each retrier counts its own attempts: the worst case is every retrier used up. */
export const maxRetries = (state: AslState): number =>
  (state.Retry ?? []).reduce((sum, retrier) => sum + (retrier.MaxAttempts ?? RETRY_DEFAULTS.MaxAttempts), 0);

/** The longest a retrier can sleep across all its attempts (FULL jitter only ever shortens a delay). */
export function maxRetryDelaySeconds(retrier: Retrier): number {
  const interval = retrier.IntervalSeconds ?? RETRY_DEFAULTS.IntervalSeconds;
  const rate = retrier.BackoffRate ?? RETRY_DEFAULTS.BackoffRate;
  let total = 0;
  for (let attempt = 0; attempt < (retrier.MaxAttempts ?? RETRY_DEFAULTS.MaxAttempts); attempt += 1) {
    total += Math.min(retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY, interval * rate ** attempt);
  }
  return total;
}
