/**
 * A rule's `detection` compiled to closures: each search identifier becomes a test, the condition
 * combines them, and the needles that any match implies are worked out for the prefilter.
 */
import { parseCondition, type Condition } from './condition.js';
import type { EventContext } from './event.js';
import { bestNeedles, compileLeaf, type FieldNeedle, type Leaf, type LeafOptions, type Test } from './leaf.js';
import { parseFieldKey } from './modifiers.js';
import { InvalidRuleError, UnsupportedError } from './types.js';

export interface CompiledSearch {
  name: string;
  test: Test;
  /** Rule-side field names this search reads. */
  fields: string[];
  needles?: FieldNeedle[];
}

export interface CompiledDetection {
  test: Test;
  tree: Condition;
  searches: Map<string, CompiledSearch>;
  /** A match implies one of these; undefined when nothing literal is implied. */
  needles?: FieldNeedle[];
}

/** Field names a detection reads (rule side), without compiling it: for log source variants. */
export function detectionFields(searches: Record<string, unknown>): Set<string> {
  const fields = new Set<string>();
  const visit = (definition: unknown): void => {
    if (Array.isArray(definition)) definition.forEach(visit);
    else if (definition !== null && typeof definition === 'object') {
      for (const key of Object.keys(definition)) {
        const spec = parseFieldKey(key);
        if (spec.field) fields.add(spec.field);
      }
    }
  };
  for (const [name, definition] of Object.entries(searches)) withSearchName(name, () => visit(definition));
  return fields;
}

export function compileDetection(
  searches: Record<string, unknown>,
  conditions: readonly string[],
  options: LeafOptions,
): CompiledDetection {
  const compiled = new Map<string, CompiledSearch>();
  for (const [name, definition] of Object.entries(searches))
    compiled.set(
      name,
      withSearchName(name, () => compileSearch(name, definition, options)),
    );
  const names = [...compiled.keys()];
  const trees = conditions.map((c) => parseCondition(c, names));
  const tree: Condition = trees.length === 1 ? trees[0]! : { op: 'or', args: trees };
  return { test: compileCondition(tree, compiled), tree, searches: compiled, needles: conditionNeedles(tree, compiled) };
}

/** Problems inside a search name it, so the report can point at its line. */
function withSearchName<T>(name: string, compile: () => T): T {
  try {
    return compile();
  } catch (e) {
    if ((e instanceof InvalidRuleError || e instanceof UnsupportedError) && !e.message.startsWith('search "'))
      e.message = `search "${name}": ${e.message}`;
    throw e;
  }
}

/**
 * The searches that made a match: true, and reached without negation (a search under `not` that
 * happens to be true did not contribute).
 */
export function contributingSearches(tree: Condition, searches: Map<string, CompiledSearch>, ctx: EventContext): CompiledSearch[] {
  const out: CompiledSearch[] = [];
  const visit = (node: Condition): void => {
    if (node.op === 'search') {
      const search = searches.get(node.name)!;
      if (search.test(ctx)) out.push(search);
    } else if (node.op !== 'not') node.args.forEach(visit);
  };
  visit(tree);
  return out;
}

function compileSearch(name: string, definition: unknown, options: LeafOptions): CompiledSearch {
  const where = (why: string): never => {
    throw new InvalidRuleError(`search "${name}": ${why}`);
  };
  if (definition === null || definition === undefined) return where('is empty');
  if (Array.isArray(definition)) {
    if (definition.length === 0) return where('is an empty list');
    if (definition.every(isScalar)) return fromLeaves(name, [compileLeaf('', definition, options)]);
    // A list of maps (or mixed) is an OR of its elements.
    const parts = definition.map((item, i) => compileSearch(`${name}[${i}]`, item, options));
    return {
      name,
      test: anyOf(parts.map((p) => p.test)),
      fields: parts.flatMap((p) => p.fields),
      needles: unionNeedles(parts.map((p) => p.needles)),
    };
  }
  if (isScalar(definition)) return fromLeaves(name, [compileLeaf('', definition, options)]);
  if (typeof definition !== 'object') return where('is neither a map, a list nor a value');
  const entries = Object.entries(definition);
  if (entries.length === 0) return where('is an empty map');
  return fromLeaves(
    name,
    entries.map(([key, value]) => compileLeaf(key, value, options)),
  );
}

/** A map's entries all hold (AND); any one entry's needles are implied. */
function fromLeaves(name: string, leaves: Leaf[]): CompiledSearch {
  const tests = leaves.map((l) => l.test);
  return {
    name,
    test: allOf(tests),
    fields: leaves.map((l) => l.field).filter((f) => f !== ''),
    needles: bestNeedles(leaves.map((l) => l.needles)),
  };
}

function isScalar(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

function allOf(tests: Test[]): Test {
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [Test, Test];
    return (ctx) => a(ctx) && b(ctx);
  }
  return (ctx) => {
    for (const t of tests) if (!t(ctx)) return false;
    return true;
  };
}

function anyOf(tests: Test[]): Test {
  if (tests.length === 1) return tests[0]!;
  return (ctx) => {
    for (const t of tests) if (t(ctx)) return true;
    return false;
  };
}

function compileCondition(tree: Condition, searches: Map<string, CompiledSearch>): Test {
  switch (tree.op) {
    case 'search':
      return searches.get(tree.name)!.test;
    case 'not': {
      const inner = compileCondition(tree.arg, searches);
      return (ctx: EventContext) => !inner(ctx);
    }
    case 'and':
      return allOf(tree.args.map((a) => compileCondition(a, searches)));
    case 'or':
      return anyOf(tree.args.map((a) => compileCondition(a, searches)));
  }
}

/** Sound needles for a condition: AND takes its best child's, OR needs every child's, NOT gives none. */
function conditionNeedles(tree: Condition, searches: Map<string, CompiledSearch>): FieldNeedle[] | undefined {
  switch (tree.op) {
    case 'search':
      return searches.get(tree.name)!.needles;
    case 'not':
      return undefined;
    case 'and':
      return bestNeedles(tree.args.map((a) => conditionNeedles(a, searches)));
    case 'or':
      return unionNeedles(tree.args.map((a) => conditionNeedles(a, searches)));
  }
}

function unionNeedles(sets: (FieldNeedle[] | undefined)[]): FieldNeedle[] | undefined {
  return sets.some((s) => s === undefined) ? undefined : (sets.flat() as FieldNeedle[]);
}
