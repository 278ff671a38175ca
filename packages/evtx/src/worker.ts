/** Worker thread: reads and renders the chunks the main thread asks for. */
import { renderBatch, serveBatches } from './render-batch.js';

serveBatches(renderBatch);
