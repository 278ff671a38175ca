/**
 * A rule's `detection` compiled to closures: each search identifier becomes a test, the condition
 * combines them, and the literals any match implies are worked out for the prefilter.
 */
import { parseCondition, type Condition } from './condition.js';
import type { EventContext } from './event.js';
import { compileLeaf, type Leaf, type LeafOptions, type Test } from './leaf.js';
import { requireAll, requireAny, type Requirement } from './requirement.js';
import { parseFieldKey } from './modifiers.js';
import { InvalidRuleError, UnsupportedError } from './types.js';

export interface CompiledSearch {
  name: string;
  test: Test;
  /** Rule-side field names this search reads. */
  fields: string[];
  requirement: Requirement;
}

export interface CompiledDetection {
  test: Test;
  tree: Condition;
  searches: Map<string, CompiledSearch>;
  /** Literals a match implies, for the prefilter. */
  requirement: Requirement;
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
  return { test: compileCondition(tree, compiled), tree, searches: compiled, requirement: conditionRequirement(tree, compiled) };
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
      requirement: requireAny(parts.map((p) => p.requirement)),
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

/** A map's entries all hold (AND), and so do their requirements. */
function fromLeaves(name: string, leaves: Leaf[]): CompiledSearch {
  const tests = leaves.map((l) => l.test);
  return {
    name,
    test: allOf(tests),
    fields: leaves.map((l) => l.field).filter((f) => f !== ''),
    requirement: requireAll(leaves.map((l) => l.requirement)),
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

/** What a condition implies: AND all its children's clauses, OR one clause per branch, NOT nothing. */
function conditionRequirement(tree: Condition, searches: Map<string, CompiledSearch>): Requirement {
  switch (tree.op) {
    case 'search':
      return searches.get(tree.name)!.requirement;
    case 'not':
      return [];
    case 'and':
      return requireAll(tree.args.map((a) => conditionRequirement(a, searches)));
    case 'or':
      return requireAny(tree.args.map((a) => conditionRequirement(a, searches)));
  }
}
