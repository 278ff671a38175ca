/**
 * Elasticsearch `_bulk` bodies, as Beats and Elastic Agent send them: NDJSON where an action line
 * (`{"index": {"_index": …}}`) is followed by its document line for index and create, by its
 * payload line for update, and by nothing for delete. Documents are read as the `ecs` ingest format
 * reads them. Update and delete are understood and refused per item, so the pairs after them stay
 * aligned; so does a broken action line (see BulkParser.actionLine).
 */
import type { FirebreakEvent } from '../event.js';
import { errorText, excerpt } from '../readers/content.js';
import { MAX_JSON_VALUE } from '../readers/json.js';
import { jsonLineEvent } from './json-lines.js';
import { forEachLine, type IngestContext, type LineRejection, type LineWarning } from './lines.js';

export type BulkAction = 'index' | 'create' | 'update' | 'delete';

const ACTIONS: ReadonlySet<string> = new Set<BulkAction>(['index', 'create', 'update', 'delete']);

/** One item of the bulk request, in the order of the body (Elasticsearch's response lists `items` in this order). */
export interface BulkOperation {
  action: BulkAction;
  /** The action's `_index`, else the default (the URL's); '' when neither names one, and then `error` says so. */
  index: string;
  id?: string;
  /** The action line's number (from 1). */
  line: number;
  /** The document as an event (index and create without error). */
  document?: FirebreakEvent;
  /** Why the item is refused. */
  error?: string;
}

export interface BulkBatch {
  operations: BulkOperation[];
  /** Lines that are no action line (and the document line taken to go with one): they are no item. */
  rejected: LineRejection[];
  /** Documents kept with something left out. */
  warnings: LineWarning[];
}

/** Items of a bulk body. `defaultIndex` is the index the URL names (`/{index}/_bulk`), if any. */
export function parseBulk(body: string, context: IngestContext, defaultIndex?: string): BulkBatch {
  const parser = new BulkParser(context, defaultIndex);
  forEachLine(
    body,
    MAX_JSON_VALUE,
    (text, line) => parser.line(text, line),
    (line) => parser.tooLong(line),
    () => parser.blank(),
  );
  return parser.end();
}

const REFUSED: Partial<Record<BulkAction, string>> = {
  update: 'update is not supported: events are kept as they were received',
  delete: 'delete is not supported: events are kept as they were received',
};

class BulkParser {
  private readonly batch: BulkBatch = { operations: [], rejected: [], warnings: [] };
  /** The operation whose document (or update payload) line comes next. */
  private awaiting: BulkOperation | undefined;
  /** The last action line was broken: the next line is its document unless it is an action line itself. */
  private afterBroken = false;

  constructor(
    private readonly context: IngestContext,
    private readonly defaultIndex: string | undefined,
  ) {}

  line(text: string, line: number): void {
    if (this.awaiting) this.documentLine(this.awaiting, text, line);
    else this.actionLine(text, line);
  }

  /** Elasticsearch skips blank action lines; a blank document line is the item's (empty) document. */
  blank(): void {
    if (this.awaiting) this.settle(this.awaiting, 'the document line is empty');
  }

  tooLong(line: number): void {
    const error = `line longer than ${MAX_JSON_VALUE} characters`;
    if (this.awaiting) this.settle(this.awaiting, `document ${error}`);
    else this.brokenActionLine(line, error);
  }

  end(): BulkBatch {
    if (this.awaiting) this.settle(this.awaiting, 'the body ends before the document line');
    return this.batch;
  }

  /**
   * An action line starts an item. A line that is none is rejected; since it cannot tell whether a
   * document line follows, the next line is taken as its document (and rejected with it) unless
   * that line is a valid action line.
   */
  private actionLine(text: string, line: number): void {
    const parsed = readAction(text);
    if (typeof parsed === 'string') {
      this.brokenActionLine(line, parsed);
      return;
    }
    this.afterBroken = false;
    const [action, metadata] = parsed;
    const operation: BulkOperation = { action, index: '', line };
    this.batch.operations.push(operation);
    // Metadata first, so a refused item still names its index and id.
    const metadataError = this.readMetadata(operation, metadata);
    const error = REFUSED[action] ?? metadataError;
    if (error) operation.error = error;
    if (action !== 'delete') this.awaiting = operation;
  }

  private brokenActionLine(line: number, error: string): void {
    if (this.afterBroken) {
      this.afterBroken = false;
      this.reject(line, `taken as the document of the broken action line before it (${error}); skipped`);
    } else {
      this.afterBroken = true;
      this.reject(line, error);
    }
  }

  /** Fills in `_index` and `_id`; the error when they are not usable. */
  private readMetadata(operation: BulkOperation, metadata: Record<string, unknown>): string | undefined {
    const index = metadata._index ?? this.defaultIndex;
    if (index === undefined) return 'no index: the action names no _index and the URL none';
    if (typeof index !== 'string' || index === '') return '_index must be a non-empty string';
    operation.index = index;
    const id = metadata._id;
    if (id === undefined || id === null) return undefined;
    if (typeof id !== 'string' && typeof id !== 'number') return '_id must be a string';
    operation.id = String(id);
    return undefined;
  }

  private documentLine(operation: BulkOperation, text: string, line: number): void {
    this.awaiting = undefined;
    if (operation.error) return;
    const document = jsonLineEvent('ecs', text, line, this.context, (warning) => this.batch.warnings.push({ line, warning }));
    if (typeof document === 'string') operation.error = `document line ${line}: ${document}`;
    else operation.document = document;
  }

  /** Ends the awaited item with `error`, unless it has one already. */
  private settle(operation: BulkOperation, error: string): void {
    this.awaiting = undefined;
    operation.error ??= error;
  }

  private reject(line: number, error: string): void {
    this.batch.rejected.push({ line, error });
  }
}

/** `{"<action>": {metadata}}`, or why the line is not that. */
function readAction(text: string): [BulkAction, Record<string, unknown>] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `action line is not JSON: ${errorText(error)}`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'action line is not a JSON object';
  const keys = Object.keys(parsed);
  if (keys.length !== 1) return `an action line holds one of index, create, update, delete; this one holds ${keys.length} keys`;
  const action = keys[0]!;
  if (!ACTIONS.has(action)) return `"${excerpt(action, 40)}" is no bulk action (index, create, update, delete)`;
  const metadata = (parsed as Record<string, unknown>)[action];
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return `"${action}" must hold an object of metadata`;
  return [action as BulkAction, metadata as Record<string, unknown>];
}
