/**
 * EventBridge content filtering, the subset our rules (and plausible user rules) use, with the
 * semantics of AWS's event-ruler: fields AND together, the values listed for a field OR together, an
 * array in the event matches when any of its elements does, arrays of objects are looked through.
 * Anything outside the subset (numeric, cidr, an unknown operator, a malformed pattern) throws when
 * the pattern is compiled, so a rule we cannot honour fails the start-up, never matches silently.
 */

export class EventPatternError extends Error {
  override readonly name = 'EventPatternError';
}

type Test = (event: unknown) => boolean;
/** Tests one leaf value of the event: a string, number, boolean or null. */
type ValueTest = (value: Scalar) => boolean;
type Scalar = string | number | boolean | null;

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): value is Scalar => value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
const fold = (text: string) => text.toUpperCase().toLowerCase();
const describe = (value: unknown) => JSON.stringify(value);

export function compileEventPattern(pattern: unknown): Test {
  // CloudFormation allows the pattern as a JSON string (the only way to write `null` in a template).
  const parsed = typeof pattern === 'string' ? (JSON.parse(pattern) as unknown) : pattern;
  if (!isPlainObject(parsed) || Object.keys(parsed).length === 0) {
    throw new EventPatternError(`an event pattern is a non-empty JSON object: ${describe(pattern)}`);
  }
  return compileObject(parsed, '');
}

export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  return compileEventPattern(pattern)(event);
}

/** `node` is the event's value at this level: an object, or undefined when absent (or not an object). */
function compileObject(pattern: Record<string, unknown>, path: string): Test {
  const fieldTests = Object.entries(pattern).map(([field, rule]): Test => {
    const at = path ? `${path}.${field}` : field;
    if (field === '$or') return compileOr(rule, at);
    if (isPlainObject(rule)) {
      const nested = compileObject(rule, at);
      return (node) => someElement(childOf(node, field), nested);
    }
    if (Array.isArray(rule)) {
      const leaf = compileLeaf(rule, at);
      return (node) => leaf(childOf(node, field));
    }
    throw new EventPatternError(`${at}: a pattern lists the values it accepts in an array, got ${describe(rule)}`);
  });
  return (node) => fieldTests.every((test) => test(node));
}

function compileOr(rule: unknown, at: string): Test {
  if (!Array.isArray(rule) || rule.length < 2 || !rule.every(isPlainObject)) {
    throw new EventPatternError(`${at}: $or takes an array of at least two patterns`);
  }
  const alternatives = rule.map((alternative) => compileObject(alternative, at.replace(/\.?\$or$/, '')));
  return (node) => alternatives.some((test) => test(node));
}

function childOf(node: unknown, field: string): unknown {
  return isPlainObject(node) ? node[field] : undefined;
}

/** An array of objects is looked through: the pattern applies to each element, the event matches if one does. */
function someElement(value: unknown, test: Test): boolean {
  if (!Array.isArray(value)) return test(value);
  if (value.length === 0) return test(undefined);
  return value.some((element) => someElement(element, test));
}

/** Leaf values at a field: a scalar, the scalars of an array (nested arrays flattened); objects are not leaves. */
function leafValues(value: unknown): Scalar[] {
  if (isScalar(value)) return [value];
  if (Array.isArray(value)) return value.flatMap(leafValues);
  return [];
}

function compileLeaf(rules: unknown[], at: string): Test {
  if (rules.length === 0) throw new EventPatternError(`${at}: an empty array matches nothing`);
  let existsWanted: boolean | undefined;
  const valueTests: ValueTest[] = [];
  for (const rule of rules) {
    if (isPlainObject(rule) && 'exists' in rule) {
      if (Object.keys(rule).length !== 1 || typeof rule.exists !== 'boolean') {
        throw new EventPatternError(`${at}: exists takes true or false: ${describe(rule)}`);
      }
      existsWanted = rule.exists;
    } else {
      valueTests.push(compileValue(rule, at));
    }
  }
  return (value) => {
    // exists looks at leaves only: a field holding an object does not "exist" for it.
    const leaves = leafValues(value);
    if (existsWanted === leaves.length > 0) return true;
    return leaves.some((leaf) => valueTests.some((test) => test(leaf)));
  };
}

function compileValue(rule: unknown, at: string): ValueTest {
  if (isScalar(rule)) return (value) => value === rule;
  if (!isPlainObject(rule)) throw new EventPatternError(`${at}: unsupported value in a pattern: ${describe(rule)}`);
  const operators = Object.keys(rule);
  if (operators.length !== 1) throw new EventPatternError(`${at}: one operator per object: ${describe(rule)}`);
  const operator = operators[0]!;
  const operand = rule[operator];
  switch (operator) {
    case 'prefix':
      return stringTest(compileAffix(operand, at, operator, (value, affix) => value.startsWith(affix)));
    case 'suffix':
      return stringTest(compileAffix(operand, at, operator, (value, affix) => value.endsWith(affix)));
    case 'equals-ignore-case': {
      const expected = requireString(operand, at, operator);
      return stringTest((value) => fold(value) === fold(expected));
    }
    case 'wildcard': {
      const expression = wildcardExpression(requireString(operand, at, operator), at);
      return stringTest((value) => expression.test(value));
    }
    case 'anything-but':
      return compileAnythingBut(operand, at);
    default:
      // numeric, cidr and the rest are not needed by our rules; say so rather than guess.
      throw new EventPatternError(`${at}: the local event router does not support "${operator}"`);
  }
}

const stringTest =
  (test: (value: string) => boolean): ValueTest =>
  (value) =>
    typeof value === 'string' && test(value);

function requireString(operand: unknown, at: string, operator: string): string {
  if (typeof operand !== 'string') throw new EventPatternError(`${at}: ${operator} takes a string: ${describe(operand)}`);
  return operand;
}

/** `{prefix: "x"}` or `{prefix: {"equals-ignore-case": "x"}}`, and the same for suffix. */
function compileAffix(operand: unknown, at: string, operator: string, has: (value: string, affix: string) => boolean) {
  if (typeof operand === 'string') return (value: string) => has(value, operand);
  if (isPlainObject(operand) && Object.keys(operand).length === 1 && typeof operand['equals-ignore-case'] === 'string') {
    const affix = fold(operand['equals-ignore-case']);
    return (value: string) => has(fold(value), affix);
  }
  throw new EventPatternError(`${at}: ${operator} takes a string or {"equals-ignore-case": string}: ${describe(operand)}`);
}

function compileAnythingBut(operand: unknown, at: string): ValueTest {
  if (typeof operand === 'string' || typeof operand === 'number') return (value) => value !== operand;
  if (Array.isArray(operand)) {
    const allStrings = operand.every((item) => typeof item === 'string');
    const allNumbers = operand.every((item) => typeof item === 'number');
    if (operand.length === 0 || !(allStrings || allNumbers)) {
      throw new EventPatternError(`${at}: anything-but takes a list of only strings or only numbers: ${describe(operand)}`);
    }
    const excluded = new Set<unknown>(operand);
    return (value) => !excluded.has(value);
  }
  if (isPlainObject(operand) && Object.keys(operand).length === 1) {
    const [operator, inner] = Object.entries(operand)[0]!;
    const list = (Array.isArray(inner) ? inner : [inner]).map((item) => requireString(item, at, `anything-but ${operator}`));
    let excluded: (value: string) => boolean;
    switch (operator) {
      case 'prefix':
      case 'suffix':
        if (Array.isArray(inner)) throw new EventPatternError(`${at}: anything-but ${operator} takes one string`);
        excluded = operator === 'prefix' ? (value) => value.startsWith(list[0]!) : (value) => value.endsWith(list[0]!);
        break;
      case 'equals-ignore-case': {
        const folded = new Set(list.map(fold));
        excluded = (value) => folded.has(fold(value));
        break;
      }
      case 'wildcard': {
        const expressions = list.map((item) => wildcardExpression(item, at));
        excluded = (value) => expressions.some((expression) => expression.test(value));
        break;
      }
      default:
        throw new EventPatternError(`${at}: the local event router does not support anything-but "${operator}"`);
    }
    // These operators speak about strings; a value of another type is not excluded by them.
    return (value) => typeof value !== 'string' || !excluded(value);
  }
  throw new EventPatternError(`${at}: unsupported anything-but: ${describe(operand)}`);
}

/** `*` is any run of characters; `\*` and `\\` are a literal star and backslash; `**` is refused, as AWS does. */
function wildcardExpression(wildcard: string, at: string): RegExp {
  let source = '';
  for (let index = 0; index < wildcard.length; index++) {
    const char = wildcard[index]!;
    if (char === '\\') {
      const next = wildcard[index + 1];
      if (next !== '*' && next !== '\\') throw new EventPatternError(`${at}: wildcard escapes only * and \\: ${describe(wildcard)}`);
      source += `\\${next}`;
      index++;
    } else if (char === '*') {
      if (wildcard[index + 1] === '*') throw new EventPatternError(`${at}: consecutive wildcards are not allowed: ${describe(wildcard)}`);
      source += '.*';
    } else {
      source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'su');
}
