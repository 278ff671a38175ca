/** A chunk worker that dies on chunk DYING_CHUNK, as a worker out of memory would. */
import { renderBatch, serveBatches } from '../../src/render-batch.js';

export const DYING_CHUNK = 5;

serveBatches((task) => {
  if (task.first <= DYING_CHUNK && DYING_CHUNK < task.first + task.count) process.exit(7);
  return renderBatch(task);
});
