/**
 * A hunt worker thread: loads the rules once, then hunts the files it is sent, one at a time,
 * posting each file's detections back in batches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileHunter, type FileBatch } from './file-hunter.js';
import { eventFilter, loadHuntRules, type EventFilterOptions, type RuleOptions } from './options.js';
import { summarizeRules } from './rules-summary.js';

export type ToWorker = { task: number; file: string };
export type FromWorker = { kind: 'ready'; rules: ReturnType<typeof summarizeRules> } | { kind: 'batch'; task: number; batch: FileBatch };

const port = parentPort!;
const { rules, events } = workerData as { rules: RuleOptions; events: EventFilterOptions };
const loaded = loadHuntRules(rules);
const hunter = new FileHunter(loaded.ruleSet, eventFilter(events));
port.postMessage({ kind: 'ready', rules: summarizeRules(loaded) } satisfies FromWorker);

// Files are hunted one after another: a worker is one core's worth of work.
let queue = Promise.resolve();
port.on('message', ({ task, file }: ToWorker) => {
  queue = queue.then(async () => {
    for await (const batch of hunter.hunt(file)) port.postMessage({ kind: 'batch', task, batch } satisfies FromWorker);
  });
});
