/**
 * The flat field view used by detection: System fields (`EventID`, `Provider_Name`,
 * `TimeCreated_SystemTime`…) and every EventData/UserData field by name, read straight
 * from the template and its substitution values, with no XML or JSON built on the way.
 *
 * Each template is compiled once into a plan (shared by the chunks that repeat the template):
 * which field name takes which content.
 * A record's view is then just its plans and its values; a field is decoded when it is first
 * read, so a detection that looks at three fields decodes three values. Templates a plan
 * cannot describe (field names that are substitutions, a name used twice) take the general
 * walk, which follows the same rules.
 */
import { Kind, type AttributeNode, type ContentNode, type ElementNode, type Template, type Values } from './binxml.js';
import { isNullSubst, jsonSubstText, mixedText, setOwn, substValue, valueText, valueType } from './tree.js';
import { Style, ValueType, type DecodedValue } from './values.js';

export type FlatValue = DecodedValue;
export type FlatEvent = Record<string, FlatValue>;

/** Read access to an event's fields by name, whatever the source of the event. */
export interface EventFields {
  /** The field's value; undefined when the event has no such field. */
  get(name: string): FlatValue | undefined;
  /** Field names: each template instance's fields in template order, nested values after their holder. */
  keys(): string[];
  /** Every field's value, without the lookups by name (a name repeated across template instances gives each instance's value, not one list). */
  values(): FlatValue[];
  /** Every field as a plain object. */
  toObject(): FlatEvent;
}

/** Where content sits in the event: among the sections, in `System`, or in a data section. */
interface Context {
  section: 'root' | 'system' | 'data';
  prefix: string;
}
const ROOT: Context = { section: 'root', prefix: '' };
const SYSTEM: Context = { section: 'system', prefix: '' };
/** Sections whose fields get a prefix so they cannot collide with System fields. */
const SECTION_PREFIXES = new Map([['RenderingInfo', 'RenderingInfo_']]);

function dataContext(section: ElementNode): Context {
  return { section: 'data', prefix: SECTION_PREFIXES.get(section.name) ?? '' };
}

// ---- Plans ----------------------------------------------------------------------------

/** Field `key` takes the value of `parts` (element text or attribute value). */
interface FieldStep {
  key: string;
  parts: ContentNode[];
  /** Attributes whose value is NULL are absent, as in the JSON. */
  dropWhenEmpty: boolean;
}
interface Plan {
  fields: FieldStep[];
  /** Field name → index in `fields`. */
  index: Map<string, number>;
  /** Substitutions among element children: BinXML there continues the event in `context`. */
  nested: { index: number; context: Context }[];
  /** Substitution indexes the plan reads as text: BinXML in one of them needs the general walk. */
  textSubsts: number[];
}

class NotPlannable extends Error {}

function planFor(template: Template, context: Context): Plan | null {
  const cacheKey = `flat:${context.section}:${context.prefix}`;
  let plan = template.cache.get(cacheKey) as Plan | null | undefined;
  if (plan === undefined) {
    plan = compile(template.nodes, context);
    template.cache.set(cacheKey, plan);
  }
  return plan;
}

function compile(nodes: ContentNode[], context: Context): Plan | null {
  const plan: Plan = { fields: [], index: new Map(), nested: [], textSubsts: [] };
  try {
    compileChildren(plan, nodes, context);
  } catch (error) {
    if (error instanceof NotPlannable) return null;
    throw error;
  }
  return plan;
}

function compileChildren(plan: Plan, children: ContentNode[], context: Context): void {
  for (const node of children) {
    if (node.kind === Kind.Element) compileElement(plan, node, context);
    else if (node.kind === Kind.Subst) plan.nested.push({ index: node.index, context });
    else if (node.kind === Kind.Template) throw new NotPlannable();
  }
}

function compileElement(plan: Plan, el: ElementNode, context: Context): void {
  if (context.section === 'root') {
    compileChildren(plan, el.children, el.name === 'Event' ? ROOT : el.name === 'System' ? SYSTEM : dataContext(el));
  } else if (hasChildElements(el, undefined)) {
    if (context.section === 'data' && el.attrs.some((a) => a.name === 'Name')) throw new NotPlannable();
    compileChildren(plan, el.children, context);
  } else if (context.section === 'system') {
    if (el.children.length > 0) addStep(plan, el.name, el.children, false);
    for (const attr of el.attrs) addStep(plan, `${el.name}_${attr.name}`, attr.value, true);
  } else {
    const nameAttr = el.attrs.find((a) => a.name === 'Name');
    if (nameAttr && (nameAttr.value.length !== 1 || nameAttr.value[0].kind !== Kind.Text)) throw new NotPlannable();
    const key = nameAttr ? (nameAttr.value[0] as { text: string }).text : el.name;
    addStep(plan, context.prefix + key, el.children, false);
  }
}

function addStep(plan: Plan, key: string, parts: ContentNode[], dropWhenEmpty: boolean): void {
  if (plan.index.has(key)) throw new NotPlannable();
  plan.index.set(key, plan.fields.length);
  plan.fields.push({ key, parts, dropWhenEmpty });
  for (const p of parts) if (p.kind === Kind.Subst) plan.textSubsts.push(p.index);
}

// ---- The view ---------------------------------------------------------------------------

/** One template instance read through its plan, with the values decoded so far. */
interface Source {
  plan: Plan;
  values: Values;
  /** Decoded field values; ABSENT for an attribute whose value is NULL. */
  decoded: (FlatValue | typeof ABSENT | undefined)[];
}

const ABSENT = Symbol('absent');

/** The flat view of one record. Cheap to build; each field is decoded on first read. */
export class FlatView implements EventFields {
  private readonly sources: Source[] = [];
  /** Fields found by the general walk (parts no plan describes). */
  private walked: FlatEvent | undefined;

  constructor(nodes: ContentNode[]) {
    this.collect(nodes, undefined, ROOT);
  }

  private collect(nodes: ContentNode[], values: Values | undefined, context: Context): void {
    for (const node of nodes) {
      if (node.kind === Kind.Template) this.addInstance(node.template, node.values, context);
      else if (node.kind === Kind.Element) walkElement((this.walked ??= {}), node, values, context);
      else if (node.kind === Kind.Subst && valueType(values, node.index) === ValueType.BinXml) {
        this.collect(values!.nestedNodes(node.index), undefined, context);
      }
    }
  }

  private addInstance(template: Template, values: Values, context: Context): void {
    const plan = planFor(template, context);
    // The plan assumed each substitution's declared kind (text or BinXML); values that differ
    // (BinXML where text was declared, or the reverse) take the general walk.
    if (
      plan === null ||
      plan.textSubsts.some((i) => valueType(values, i) === ValueType.BinXml) ||
      plan.nested.some((n) => valueType(values, n.index) !== ValueType.BinXml)
    ) {
      walkNodes((this.walked ??= {}), template.nodes, values, context);
      return;
    }
    this.sources.push({ plan, values, decoded: new Array(plan.fields.length) });
    for (const nested of plan.nested) this.collect(values.nestedNodes(nested.index), undefined, nested.context);
  }

  get(name: string): FlatValue | undefined {
    let found: FlatValue | undefined;
    for (const source of this.sources) {
      const i = source.plan.index.get(name);
      if (i !== undefined) found = merge(found, fieldValue(source, i));
    }
    return this.walked === undefined || !Object.hasOwn(this.walked, name) ? found : merge(found, this.walked[name]);
  }

  keys(): string[] {
    if (this.walked !== undefined) return Object.keys(this.toObject());
    // From the plans, without building an object: names in the order toObject() gives them.
    const names: string[] = [];
    for (const source of this.sources) {
      const fields = source.plan.fields;
      for (let i = 0; i < fields.length; i++) if (fieldValue(source, i) !== undefined) names.push(fields[i].key);
    }
    return this.sources.length > 1 ? [...new Set(names)] : names;
  }

  values(): FlatValue[] {
    const values: FlatValue[] = [];
    for (const source of this.sources)
      for (let i = 0; i < source.plan.fields.length; i++) {
        const value = fieldValue(source, i);
        if (value !== undefined) values.push(value);
      }
    if (this.walked) for (const key of Object.keys(this.walked)) values.push(this.walked[key]);
    return values;
  }

  toObject(): FlatEvent {
    const out: FlatEvent = {};
    for (let s = 0; s < this.sources.length; s++) {
      const source = this.sources[s];
      const fields = source.plan.fields;
      for (let i = 0; i < fields.length; i++) {
        const value = fieldValue(source, i);
        if (value === undefined) continue;
        // Names are unique within a plan, so the first source needs no merging.
        if (s === 0) setOwn(out, fields[i].key, value);
        else add(out, fields[i].key, value);
      }
    }
    if (this.walked) for (const key of Object.keys(this.walked)) add(out, key, this.walked[key]);
    return out;
  }
}

function fieldValue(source: Source, i: number): FlatValue | undefined {
  let value = source.decoded[i];
  if (value === undefined) {
    const step = source.plan.fields[i];
    const parts = step.parts;
    const dropped = step.dropWhenEmpty && allNull(parts, source.values);
    value = dropped ? ABSENT : contentValue(parts, source.values);
    source.decoded[i] = value;
  }
  return value === ABSENT ? undefined : value;
}

/**
 * Repeated names (e.g. several unnamed `Data` elements) collect into an array. Lists made here
 * are remembered so later repeats append in place: thousands of repeats stay linear.
 */
const mergedLists = new WeakSet<FlatValue[]>();

function merge(existing: FlatValue | undefined, value: FlatValue | undefined): FlatValue | undefined {
  if (existing === undefined) return value;
  if (value === undefined) return existing;
  let list: FlatValue[];
  if (Array.isArray(existing) && mergedLists.has(existing)) list = existing;
  else {
    list = Array.isArray(existing) ? [...existing] : [existing];
    mergedLists.add(list);
  }
  if (Array.isArray(value)) for (const v of value) list.push(v);
  else list.push(value);
  return list as FlatValue;
}

function add(out: FlatEvent, key: string, value: FlatValue): void {
  setOwn(out, key, Object.hasOwn(out, key) ? (merge(out[key], value) as FlatValue) : value);
}

// ---- General walk (the same rules, without a plan) -----------------------------------------

function walkNodes(out: FlatEvent, nodes: ContentNode[], values: Values | undefined, context: Context): void {
  for (const node of nodes) {
    if (node.kind === Kind.Element) walkElement(out, node, values, context);
    else if (node.kind === Kind.Template) walkNodes(out, node.template.nodes, node.values, context);
    else if (node.kind === Kind.Subst && valueType(values, node.index) === ValueType.BinXml)
      walkNodes(out, values!.nestedNodes(node.index), undefined, context);
  }
}

function walkElement(out: FlatEvent, el: ElementNode, values: Values | undefined, context: Context): void {
  if (context.section === 'root') {
    walkNodes(out, el.children, values, el.name === 'Event' ? ROOT : el.name === 'System' ? SYSTEM : dataContext(el));
    return;
  }
  const nameAttr = context.section === 'data' ? el.attrs.find((a) => a.name === 'Name') : undefined;
  if (nameAttr) {
    add(out, context.prefix + valueText(attributeValue(nameAttr, values) ?? null), contentValue(el.children, values));
  } else if (hasChildElements(el, values)) {
    walkNodes(out, el.children, values, context);
  } else if (context.section === 'system') {
    if (el.children.length > 0) add(out, el.name, contentValue(el.children, values));
    for (const attr of el.attrs) {
      const value = attributeValue(attr, values);
      if (value !== undefined) add(out, `${el.name}_${attr.name}`, value);
    }
  } else {
    add(out, context.prefix + el.name, contentValue(el.children, values));
  }
}

/** With no values (compiling a plan), a substitution declared as BinXML counts as child elements. */
function hasChildElements(el: ElementNode, values: Values | undefined): boolean {
  return el.children.some(
    (c) =>
      c.kind === Kind.Element ||
      c.kind === Kind.Template ||
      (c.kind === Kind.Subst && (values === undefined ? c.type === ValueType.BinXml : valueType(values, c.index) === ValueType.BinXml)),
  );
}

/** An attribute's value; undefined when it is an optional substitution without a value. */
function attributeValue(attr: AttributeNode, values: Values | undefined): FlatValue | undefined {
  return allNull(attr.value, values) ? undefined : contentValue(attr.value, values);
}

/** Content made only of NULL values: the JSON leaves such an attribute out. */
function allNull(parts: ContentNode[], values: Values | undefined): boolean {
  return parts.length > 0 && parts.every((p) => p.kind === Kind.Subst && isNullSubst(values, p.index));
}

/**
 * The value of element or attribute content: a lone substitution keeps its type (numbers stay
 * numbers), mixed content becomes one string, empty content is null.
 */
export function contentValue(parts: ContentNode[], values: Values | undefined): FlatValue {
  if (parts.length === 1) {
    const p = parts[0];
    if (p.kind === Kind.Subst) return substValue(values, p.index, Style.Json);
    if (p.kind === Kind.Text) return p.text;
  }
  // As in the JSON: content with nothing but NULL values is null.
  return mixedText(parts, values, jsonSubstText) ?? null;
}
