/**
 * Aho–Corasick over UTF-16 code units: one pass over a field value finds which of many literal
 * needles occur in it, and whether at its start, at its end or as the whole value. Matching is
 * exact; callers lowercase needles and text themselves for case-insensitive matching.
 *
 * Layout: states are numbered breadth-first, so the children of a state are consecutive states
 * sorted by their edge's code unit (found by binary search), and the children of `s + 1` follow
 * those of `s` (one offsets array serves all). The root, the states one unit deep and states with
 * many children also get a dense row of 128 entries for ASCII code units, completed with where the
 * failure links lead, so most text costs one lookup per unit. A dense row for every state would
 * cost 512 bytes per state: ~230 MB for the 660,000 characters of all SigmaHQ rule literals
 * (447,000 states), where this layout needs ~15 MB.
 */

/** An occurrence anywhere in the text. */
export const ANYWHERE = 1;
/** An occurrence that starts the text. */
export const PREFIX = 2;
/** An occurrence that ends the text. */
export const SUFFIX = 4;
/** An occurrence that is the whole text. */
export const EXACT = 8;

/** Per-scan result, reused from event to event so scanning allocates nothing. */
export class LiteralHits {
  /** flags[needle]: OR of ANYWHERE, PREFIX, SUFFIX, EXACT over the needle's occurrences. */
  readonly flags: Uint8Array;
  /** Needles whose flags became non-zero since the last `clear()`, in the order they did. */
  readonly touched: number[] = [];

  constructor(needleCount: number) {
    this.flags = new Uint8Array(needleCount);
  }

  /** Resets the touched needles only, so clearing costs what the scan found. */
  clear(): void {
    // pop() keeps the array's storage, where `length = 0` would drop it and regrow it every scan
    while (this.touched.length > 0) this.flags[this.touched.pop()!] = 0;
  }

  /** ORs `flags` into a needle's entry (called by `LiteralMatcher.scan`). */
  mark(needle: number, flags: number): void {
    const before = this.flags[needle];
    if (before === 0) this.touched.push(needle);
    this.flags[needle] = before | flags;
  }
}

const ROOT = 0;
const ASCII = 128;
/** States with at least this many children get a dense ASCII row (the root always has one). */
const DENSE_CHILDREN = 4;
/** States this close to the root also get one: scanning text that matches nothing stays near the root. */
const DENSE_DEPTH = 1;

export class LiteralMatcher {
  /** Number of needles, duplicates included. */
  readonly size: number;
  /** Code unit on the edge into each state. */
  private readonly label: Uint16Array;
  /** Children of state s are the states childStart[s] … childStart[s + 1] - 1. */
  private readonly childStart: Int32Array;
  /** Dense ASCII row of a state (index into `dense`), or -1. */
  private readonly denseRow: Int32Array;
  /**
   * Transition for (row, code unit < 128). While building it holds children only (0 = none, since
   * the root is nobody's child); `completeDenseRows` then fills in the failure-link targets.
   */
  private readonly dense: Int32Array;
  /** Longest proper suffix of the state's string that is also a state. */
  private readonly fail: Int32Array;
  /** Length of the state's string. */
  private readonly depth: Int32Array;
  /** Needles ending at state s: outNeedles[outStart[s] … outStart[s + 1] - 1]. */
  private readonly outStart: Int32Array;
  private readonly outNeedles: Int32Array;
  /** The state itself if needles end there, else the next such state on its failure chain; 0 = none. */
  private readonly firstOutput: Int32Array;
  /** The next state with needles on the failure chain after `s` (dictionary suffix link); 0 = none. */
  private readonly nextOutput: Int32Array;

  constructor(needles: readonly string[]) {
    this.size = needles.length;
    const trie = buildTrie(needles);
    const count = trie.states;
    const [order, childStart] = breadthFirst(trie);
    const renumbered = new Int32Array(count);
    this.label = new Uint16Array(count);
    this.depth = new Int32Array(count);
    for (let state = 0; state < count; state++) {
      const old = order[state];
      renumbered[old] = state;
      this.label[state] = trie.label[old];
      this.depth[state] = trie.depth[old];
    }
    this.childStart = childStart;
    [this.denseRow, this.dense] = this.denseRows(count);
    [this.outStart, this.outNeedles] = outputsByState(
      count,
      trie.needleState.map((old) => renumbered[old]),
    );
    this.fail = new Int32Array(count);
    this.firstOutput = new Int32Array(count);
    this.nextOutput = new Int32Array(count);
    this.linkFailures(count);
    this.completeDenseRows(count);
  }

  /** ORs into `hits` the flags of every needle occurrence in `text`; does not clear `hits`. */
  scan(text: string, hits: LiteralHits): void {
    this.run(text, hits, false);
  }

  /**
   * `scan` of the text lowercased, without building the lowercased copy: ASCII letters are folded
   * on the fly. Returns false, having reported only occurrences before it, at the first non-ASCII
   * unit, where only full `toLowerCase` is exact; the caller then scans `text.toLowerCase()`.
   */
  scanAsciiFolded(text: string, hits: LiteralHits): boolean {
    return this.run(text, hits, true);
  }

  /** The scan itself; with `fold`, ASCII letters are lowercased and a non-ASCII unit stops it (false). */
  private run(text: string, hits: LiteralHits, fold: boolean): boolean {
    const last = text.length - 1;
    if (this.outStart[1] > 0) this.reportEmptyNeedles(text.length, hits);
    const { firstOutput, denseRow, dense } = this;
    let state = ROOT;
    for (let i = 0; i <= last; i++) {
      let unit = text.charCodeAt(i);
      if (fold) {
        if (unit >= ASCII) return false;
        if (unit >= 65 && unit <= 90) unit |= 32;
      }
      // The dense row, inline: most text stays near the root, where every state has one.
      const row = denseRow[state];
      state = row >= 0 && unit < ASCII ? dense[row * ASCII + unit] : this.transition(state, unit);
      if (firstOutput[state] !== ROOT) this.report(state, i, last, hits);
    }
    return true;
  }

  /** Marks the needles ending at text position `i` in `state` (and on its output chain). */
  private report(state: number, i: number, last: number, hits: LiteralHits): void {
    const { firstOutput, nextOutput, depth, outStart, outNeedles } = this;
    for (let found = firstOutput[state]; found !== ROOT; found = nextOutput[found]) {
      const starts = depth[found] === i + 1;
      const ends = i === last;
      const flags = ANYWHERE | (starts ? PREFIX : 0) | (ends ? SUFFIX : 0) | (starts && ends ? EXACT : 0);
      for (let k = outStart[found]; k < outStart[found + 1]; k++) hits.mark(outNeedles[k], flags);
    }
  }

  /** The empty needle occurs everywhere, and is the whole text only when the text is empty. */
  private reportEmptyNeedles(textLength: number, hits: LiteralHits): void {
    const flags = ANYWHERE | PREFIX | SUFFIX | (textLength === 0 ? EXACT : 0);
    for (let k = 0; k < this.outStart[1]; k++) hits.mark(this.outNeedles[k], flags);
  }

  /**
   * The state reached from `state` on `unit` when scanning: a dense row holds the complete
   * transition (failure links already followed), so ASCII text near the root costs one lookup.
   */
  private transition(state: number, unit: number): number {
    for (;;) {
      const row = this.denseRow[state];
      if (row >= 0 && unit < ASCII) return this.dense[row * ASCII + unit];
      const next = this.child(state, unit);
      if (next !== ROOT || state === ROOT) return next;
      state = this.fail[state];
    }
  }

  /** Fills each dense row's missing edges with where the failure links lead (rows in breadth-first order). */
  private completeDenseRows(count: number): void {
    for (let state = 1; state < count; state++) {
      const row = this.denseRow[state];
      if (row < 0) continue;
      for (let unit = 0; unit < ASCII; unit++) {
        if (this.dense[row * ASCII + unit] === ROOT) this.dense[row * ASCII + unit] = this.transition(this.fail[state], unit);
      }
    }
  }

  /** The state reached from `state` on `unit`, following failure links until an edge exists (while building). */
  private step(state: number, unit: number): number {
    for (;;) {
      const next = this.child(state, unit);
      if (next !== ROOT || state === ROOT) return next;
      state = this.fail[state];
    }
  }

  /** The child of `state` on `unit`, or 0 (the root) when there is none. */
  private child(state: number, unit: number): number {
    const row = this.denseRow[state];
    if (row >= 0 && unit < ASCII) return this.dense[row * ASCII + unit];
    let low = this.childStart[state];
    let high = this.childStart[state + 1];
    while (low < high) {
      const middle = (low + high) >>> 1;
      const label = this.label[middle];
      if (label === unit) return middle;
      if (label < unit) low = middle + 1;
      else high = middle;
    }
    return ROOT;
  }

  private denseRows(count: number): [Int32Array, Int32Array] {
    const denseRow = new Int32Array(count).fill(-1);
    let rows = 0;
    for (let state = 0; state < count; state++) {
      if (this.depth[state] <= DENSE_DEPTH || this.childStart[state + 1] - this.childStart[state] >= DENSE_CHILDREN)
        denseRow[state] = rows++;
    }
    const dense = new Int32Array(rows * ASCII);
    for (let state = 0; state < count; state++) {
      if (denseRow[state] < 0) continue;
      for (let child = this.childStart[state]; child < this.childStart[state + 1] && this.label[child] < ASCII; child++) {
        dense[denseRow[state] * ASCII + this.label[child]] = child;
      }
    }
    return [denseRow, dense];
  }

  /** Failure and output links, breadth-first so every link target is finished before it is used. */
  private linkFailures(count: number): void {
    for (let parent = 0; parent < count; parent++) {
      for (let state = this.childStart[parent]; state < this.childStart[parent + 1]; state++) {
        const fail = parent === ROOT ? ROOT : this.step(this.fail[parent], this.label[state]);
        this.fail[state] = fail;
        this.nextOutput[state] = this.firstOutput[fail];
        this.firstOutput[state] = this.outStart[state + 1] > this.outStart[state] ? state : this.nextOutput[state];
      }
    }
  }
}

/** A trie in creation order; children are linked lists in increasing code unit order. */
interface Trie {
  states: number;
  label: Uint16Array;
  depth: Int32Array;
  firstChild: Int32Array;
  nextSibling: Int32Array;
  /** The state where each needle (by original index) ends. */
  needleState: Int32Array;
}

/**
 * Inserts the needles in sorted order: each then shares with its predecessor exactly their common
 * prefix, whose states are on the predecessor's path, so no child lookup is ever needed and new
 * children always come last among their siblings.
 */
function buildTrie(needles: readonly string[]): Trie {
  const capacity = needles.reduce((sum, needle) => sum + needle.length, 1);
  const trie: Trie = {
    states: 1,
    label: new Uint16Array(capacity),
    depth: new Int32Array(capacity),
    firstChild: new Int32Array(capacity),
    nextSibling: new Int32Array(capacity),
    needleState: new Int32Array(needles.length),
  };
  const lastChild = new Int32Array(capacity);
  const sorted = needles.map((_, index) => index).sort((a, b) => (needles[a] < needles[b] ? -1 : needles[a] > needles[b] ? 1 : 0));
  const path = new Int32Array(needles.reduce((longest, needle) => Math.max(longest, needle.length), 0) + 1);
  let previous = '';
  for (const index of sorted) {
    const needle = needles[index];
    let depth = commonPrefixLength(previous, needle);
    for (; depth < needle.length; depth++) {
      const parent = path[depth];
      const state = trie.states++;
      trie.label[state] = needle.charCodeAt(depth);
      trie.depth[state] = depth + 1;
      if (trie.firstChild[parent] === ROOT) trie.firstChild[parent] = state;
      else trie.nextSibling[lastChild[parent]] = state;
      lastChild[parent] = state;
      path[depth + 1] = state;
    }
    trie.needleState[index] = path[needle.length];
    previous = needle;
  }
  return trie;
}

function commonPrefixLength(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let length = 0;
  while (length < limit && a.charCodeAt(length) === b.charCodeAt(length)) length++;
  return length;
}

/**
 * Trie states in breadth-first order, siblings in code unit order (order[newNumber] = oldNumber),
 * and where each state's consecutive children start in that numbering.
 */
function breadthFirst(trie: Trie): [order: Int32Array, childStart: Int32Array] {
  const order = new Int32Array(trie.states);
  const childStart = new Int32Array(trie.states + 1);
  let tail = 1;
  for (let head = 0; head < trie.states; head++) {
    childStart[head] = tail;
    for (let child = trie.firstChild[order[head]]; child !== ROOT; child = trie.nextSibling[child]) order[tail++] = child;
  }
  childStart[trie.states] = tail;
  return [order, childStart];
}

/** Needle indexes grouped by the state where they end (a counting sort): [outStart, outNeedles]. */
function outputsByState(count: number, needleState: Int32Array): [Int32Array, Int32Array] {
  const outStart = new Int32Array(count + 1);
  for (const state of needleState) outStart[state + 1]++;
  for (let state = 0; state < count; state++) outStart[state + 1] += outStart[state];
  const filled = outStart.slice(0, count);
  const outNeedles = new Int32Array(needleState.length);
  for (let needle = 0; needle < needleState.length; needle++) outNeedles[filled[needleState[needle]]++] = needle;
  return [outStart, outNeedles];
}
