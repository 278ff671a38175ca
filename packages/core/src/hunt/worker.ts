/**
 * A hunt worker thread: loads the rules once, then hunts the files it is sent, one at a time,
 * posting each file's detections back in batches. It stops posting while MAX_UNACKED batches
 * wait to be taken, so a slow output (or a file whose turn has not come) cannot fill memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileHunter, type FileBatch } from './file-hunter.js';
import { eventFilter, loadHuntRules, type EventFilterOptions, type RuleOptions } from './options.js';
import { summarizeRules } from './rules-summary.js';

export type ToWorker = { kind: 'hunt'; task: number; file: string } | { kind: 'ack' };
export type FromWorker =
  | { kind: 'ready'; rules: ReturnType<typeof summarizeRules> }
  | { kind: 'start'; task: number }
  | { kind: 'batch'; task: number; batch: FileBatch };

/** Batches posted but not yet taken by the hunt, at most. */
export const MAX_UNACKED = 4;

const port = parentPort!;
const { rules, events } = workerData as { rules: RuleOptions; events: EventFilterOptions };
const loaded = loadHuntRules(rules);
const hunter = new FileHunter(loaded.ruleSet, eventFilter(events));
port.postMessage({ kind: 'ready', rules: summarizeRules(loaded) } satisfies FromWorker);

let unacked = 0;
let credit: (() => void) | undefined;
// Files are hunted one after another: a worker is one core's worth of work.
let queue = Promise.resolve();
port.on('message', (message: ToWorker) => {
  if (message.kind === 'ack') {
    unacked--;
    credit?.();
    credit = undefined;
    return;
  }
  const { task, file } = message;
  queue = queue.then(async () => {
    port.postMessage({ kind: 'start', task } satisfies FromWorker);
    for await (const batch of hunter.hunt(file)) await post(task, batch);
  });
});

async function post(task: number, batch: FileBatch): Promise<void> {
  try {
    port.postMessage({ kind: 'batch', task, batch } satisfies FromWorker);
  } catch (error) {
    // A value the structured clone cannot copy (nested too deep): the batch's counts still go.
    const problem = { origin: `batch of task ${task}`, message: `${batch.items.length} detections lost: ${(error as Error).message}` };
    port.postMessage({ kind: 'batch', task, batch: { ...batch, items: [], problems: [...batch.problems, problem] } } satisfies FromWorker);
  }
  unacked++;
  while (unacked >= MAX_UNACKED) await new Promise<void>((resolve) => (credit = resolve));
}
