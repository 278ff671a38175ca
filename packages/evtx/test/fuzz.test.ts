/**
 * Mutation fuzzing of the reader over real EVTX files: bit flips, truncations, corrupted chunk,
 * record and BinXML fields, absurd sizes and offsets, a lying file header; then a few crafted
 * hostile chunks that random mutation cannot reach. For every input the reader must not throw,
 * hang or allocate without bound, and every chunk the input left alone must read as before.
 *
 * Deterministic: FUZZ_SEED (default below) and FUZZ_ITERATIONS replay or widen a run; each
 * failure names its iteration, file and mutation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from '../src/index.js';
import { CRAFTED_COUNT, craftedMutation } from './support/fuzz-crafted.js';
import { Lane, type LaneResult } from './support/fuzz-lane.js';
import {
  destroysFileHeader,
  iterationRng,
  layoutOf,
  leavesIntact,
  mutate,
  pick,
  type FileLayout,
  type Mutation,
  type Rng,
} from './support/fuzz-mutations.js';
import type { ReadOutcome } from './support/fuzz-worker.js';
import { findFiles, sharedPath, sharedSkip } from './support/shared.js';

const SAMPLES = 'evtx-attack-samples';
const SEED = envInteger('FUZZ_SEED', 0x5eedf1e1);
const ITERATIONS = envInteger('FUZZ_ITERATIONS', 1000);
/** Per input, for reading it four times over (records plus three renderings); a clean file takes ~50 ms. */
const TIME_LIMIT_MS = 2000;
const MEMORY_GROWTH_LIMIT_MB = 200;
/** Above the growth limit, so the growth check reports first; a real bomb dies here instead of taking the test down. */
const WORKER_HEAP_CAP_MB = 256;

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text); // accepts 0x… as well
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}

type Property = 'no exception escapes' | 'no hang' | 'bounded memory' | 'intact chunks unchanged';

type ReadResult = Extract<ReadOutcome, { kind: 'read' }>;

interface Failure {
  property: Property;
  iteration: number;
  file: string;
  mutation: string;
  detail: string;
}

/** Sample files with more than one chunk are the ones that can show damage spreading to other chunks. */
interface Corpus {
  single: string[];
  multi: string[];
}

function loadCorpus(): Corpus {
  const files = findFiles(sharedPath(SAMPLES), '.evtx');
  const multi = files.filter((f) => statSync(f).size > FILE_HEADER_SIZE + CHUNK_SIZE);
  assert.ok(multi.length > 0, `${SAMPLES} holds no file of several chunks`);
  return { multi, single: files.filter((f) => !multi.includes(f)) };
}

function chooseFile(rng: Rng, corpus: Corpus): string {
  return pick(rng, rng() < 0.5 ? corpus.multi : corpus.single);
}

class Campaign {
  readonly failures: Failure[] = [];
  private readonly layouts = new Map<string, FileLayout>();
  private readonly baselines = new Map<string, Promise<ReadResult>>();
  private next = 0;

  constructor(
    private readonly corpus: Corpus,
    private readonly dir: string,
  ) {}

  /** Runs every random iteration, then the crafted cases, spread over one worker lane per core. */
  async run(lanes: Lane[]): Promise<void> {
    await Promise.all(lanes.map((lane) => this.drain(lane)));
    this.failures.sort((a, b) => a.iteration - b.iteration);
  }

  private async drain(lane: Lane): Promise<void> {
    while (this.next < ITERATIONS + CRAFTED_COUNT) await this.fuzzOne(this.next++, lane);
  }

  /** Iterations past ITERATIONS are the crafted cases, numbered on so that reports stay uniform. */
  private inputFor(iteration: number): { file: string; mutation: Mutation } {
    if (iteration >= ITERATIONS) {
      const file = this.corpus.multi[0];
      return { file, mutation: craftedMutation(iteration - ITERATIONS, this.layout(file).bytes) };
    }
    const rng = iterationRng(SEED, iteration);
    const file = chooseFile(rng, this.corpus);
    return { file, mutation: mutate(rng, this.layout(file)) };
  }

  private async fuzzOne(iteration: number, lane: Lane): Promise<void> {
    const { file, mutation } = this.inputFor(iteration);
    const baseline = await this.baseline(file, lane);
    const path = join(this.dir, `${iteration}.evtx`);
    writeFileSync(path, mutation.bytes);
    const result = await lane.run(path);
    rmSync(path);
    for (const [property, detail] of judge(mutation, result, baseline)) {
      this.failures.push({ property, iteration, file: relative(sharedPath(SAMPLES), file), mutation: mutation.description, detail });
    }
  }

  private layout(file: string): FileLayout {
    let layout = this.layouts.get(file);
    if (!layout) this.layouts.set(file, (layout = layoutOf(readFileSync(file))));
    return layout;
  }

  /** What the unmutated file reads as; computed once per file. */
  private baseline(file: string, lane: Lane): Promise<ReadResult> {
    let baseline = this.baselines.get(file);
    if (!baseline) {
      baseline = lane.run(file).then((result) => {
        if (result.kind !== 'finished' || result.outcome.kind !== 'read')
          throw new Error(`unmutated ${file} does not read cleanly: ${JSON.stringify(result)}`);
        return result.outcome;
      });
      this.baselines.set(file, baseline);
    }
    return baseline;
  }
}

/** The properties one mutated input violated, with what shows it. */
function judge(mutation: Mutation, result: LaneResult, baseline: ReadResult): [Property, string][] {
  const elapsed = `${result.elapsedMs.toFixed(0)} ms`;
  if (result.kind === 'timed-out') return [['no hang', `no result within ${TIME_LIMIT_MS} ms; worker terminated`]];
  if (result.kind === 'died') {
    if (result.error.code === 'ERR_WORKER_OUT_OF_MEMORY')
      return [['bounded memory', `worker hit its ${WORKER_HEAP_CAP_MB} MiB heap cap after ${elapsed}`]];
    return [['no exception escapes', `worker died: ${result.error.stack ?? result.error.message}`]];
  }
  const violations: [Property, string][] = [];
  if (result.elapsedMs > TIME_LIMIT_MS) violations.push(['no hang', `took ${elapsed}`]);
  const { outcome } = result;
  if (outcome.kind === 'threw') violations.push(['no exception escapes', `${outcome.phase} threw: ${outcome.stack}`]);
  if (outcome.kind === 'not-evtx' && !destroysFileHeader(mutation)) {
    violations.push(['no exception escapes', `EvtxFile.open rejected a file whose header signature is intact: ${outcome.message}`]);
  }
  if (outcome.kind === 'read') {
    for (const wrong of outcome.wrongErrors)
      violations.push(['no exception escapes', `rendering failed with something other than BinXmlError: ${wrong}`]);
    if (outcome.peakGrowthMb > MEMORY_GROWTH_LIMIT_MB)
      violations.push(['bounded memory', `heap grew by ${outcome.peakGrowthMb.toFixed(0)} MiB`]);
    violations.push(...changedIntactChunks(mutation, outcome, baseline));
  }
  return violations;
}

function changedIntactChunks(mutation: Mutation, outcome: ReadResult, baseline: ReadResult): [Property, string][] {
  const changed: [Property, string][] = [];
  for (const [index, expected] of Object.entries(baseline.chunks)) {
    if (!leavesIntact(mutation, FILE_HEADER_SIZE + Number(index) * CHUNK_SIZE)) continue;
    try {
      assert.deepEqual(outcome.chunks[Number(index)], expected);
    } catch (error) {
      changed.push(['intact chunks unchanged', `chunk ${index} was not touched but reads differently:\n${(error as Error).message}`]);
    }
  }
  return changed;
}

function report(failures: Failure[]): string {
  const inputs = new Set(failures.map((f) => f.iteration)).size;
  const shown = failures
    .slice(0, 10)
    .map((f) => `#${f.iteration} ${f.file}\n  mutation: ${f.mutation}\n  ${clip(f.detail).replaceAll('\n', '\n  ')}`);
  const more = failures.length > shown.length ? `\n…and ${failures.length - shown.length} more` : '';
  return `${inputs} of ${ITERATIONS + CRAFTED_COUNT} inputs failed (FUZZ_SEED=0x${SEED.toString(16)}):\n${shown.join('\n')}${more}`;
}

/** Long diffs and stacks are cut: the first lines say what went wrong. */
function clip(text: string, lines = 30): string {
  const all = text.split('\n');
  return all.length > lines ? [...all.slice(0, lines), `… ${all.length - lines} more lines`].join('\n') : text;
}

describe(`EVTX reader under ${ITERATIONS} seeded mutations and ${CRAFTED_COUNT} crafted chunks`, { skip: sharedSkip(SAMPLES) }, () => {
  let failures: Failure[] = [];
  let dir = '';

  before(
    async () => {
      console.log(`fuzz seed 0x${SEED.toString(16)}, ${ITERATIONS} iterations (override with FUZZ_SEED, FUZZ_ITERATIONS)`);
      dir = mkdtempSync(join(tmpdir(), 'evtx-fuzz-'));
      const campaign = new Campaign(loadCorpus(), dir);
      const limits = { timeMs: TIME_LIMIT_MS, heapMb: WORKER_HEAP_CAP_MB };
      const lanes = Array.from({ length: Math.min(4, availableParallelism()) }, () => new Lane(limits));
      try {
        await campaign.run(lanes);
      } finally {
        await Promise.all(lanes.map((lane) => lane.close()));
      }
      failures = campaign.failures;
    },
    { timeout: 10 * 60_000 },
  );

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const properties: Property[] = ['no exception escapes', 'no hang', 'bounded memory', 'intact chunks unchanged'];
  for (const property of properties) {
    test(property, () => {
      const violations = failures.filter((f) => f.property === property);
      assert.equal(violations.length, 0, report(violations));
    });
  }
});
