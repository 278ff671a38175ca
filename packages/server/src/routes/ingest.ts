/** `POST /api/v1/ingest` and `POST /api/v1/uploads`: events in, "accepted" once durably stored. */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline as pipe } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { INGEST_FORMATS, readEventFile, type FirebreakEvent, type IngestFormat, type ReadProblem } from '@firebreak/core';
import type { ServerParts } from '../context.js';
import { badRequest, HttpError } from '../http/errors.js';
import type { Route, RouteContext } from '../http/router.js';

/** Events handed to the pipeline at once while an upload is read. */
const UPLOAD_BATCH = 5000;
/** Uploads read at once (each spools up to the upload limit to disk); more wait with a 429. */
const CONCURRENT_UPLOADS = 4;
/** Problems listed in an upload's answer; the rest are counted. */
const LISTED_PROBLEMS = 100;

const rejectedSchema = {
  type: 'array',
  items: { type: 'object', properties: { line: { type: 'integer' }, error: { type: 'string' } }, required: ['line', 'error'] },
};

export function ingestRoutes(parts: ServerParts, uploadLimit: number): Route[] {
  const uploading = { count: 0 };
  return [
    {
      method: 'POST',
      path: '/api/v1/ingest',
      permission: 'ingest',
      doc: {
        summary: 'Ingest a batch: NDJSON (evtx-json, ecs, flat) or raw lines (auditd, syslog). Accepted events are durably stored.',
        tags: ['ingest'],
        query: { format: { schema: { enum: [...INGEST_FORMATS] }, description: 'what each line is', required: true } },
        body: { contentType: 'application/x-ndjson', schema: { type: 'string' } },
        response: {
          schema: {
            type: 'object',
            properties: { accepted: { type: 'integer' }, rejected: rejectedSchema },
            required: ['accepted', 'rejected'],
          },
        },
      },
      handler: (ctx) => ingestBatch(parts, ctx),
    },
    {
      method: 'POST',
      path: '/api/v1/uploads',
      permission: 'ingest',
      bodyLimit: uploadLimit,
      doc: {
        summary: 'Upload one log file (EVTX, evtx_dump JSON, ECS, Windows XML, auditd; gzip allowed), read with the hunt readers.',
        tags: ['ingest'],
        query: { name: { schema: { type: 'string' }, description: 'the file name, for provenance', required: false } },
        body: { contentType: 'application/octet-stream', schema: { type: 'string', format: 'binary' } },
        response: {
          schema: {
            type: 'object',
            properties: {
              file: { type: 'string' },
              accepted: { type: 'integer' },
              problems: { type: 'array', items: { type: 'object' } },
              problem_count: { type: 'integer' },
            },
          },
        },
      },
      handler: (ctx) => upload(parts, ctx, uploadLimit, uploading),
    },
  ];
}

async function ingestBatch(parts: ServerParts, ctx: RouteContext): Promise<{ json: unknown }> {
  const format = ctx.query.get('format');
  if (!format || !(INGEST_FORMATS as readonly string[]).includes(format))
    throw badRequest(`query parameter "format" must be one of ${INGEST_FORMATS.join(', ')}`);
  // Refuse before reading when the queue is already full: the client retries the same batch.
  parts.pipeline.admit(1);
  const body = (await ctx.body()).toString('utf8');
  const context = { origin: `http:${ctx.principal!.name}`, receivedAt: Date.now() };
  const { ids, rejected, warnings } = await parts.pipeline.ingestBody({ format: format as IngestFormat, body, context });
  return { json: { accepted: ids.length, rejected, warnings } };
}

async function upload(parts: ServerParts, ctx: RouteContext, limit: number, uploading: { count: number }): Promise<{ json: unknown }> {
  const name = uploadName(ctx.query.get('name'));
  parts.pipeline.admit(1);
  if (uploading.count >= CONCURRENT_UPLOADS)
    throw new HttpError(429, `${CONCURRENT_UPLOADS} uploads are being read; retry shortly`, { 'retry-after': '5' });
  uploading.count++;
  await mkdir(parts.uploadDir, { recursive: true });
  const spool = join(parts.uploadDir, `${randomUUID()}-${name}`);
  try {
    await spoolBody(ctx, spool, limit);
    const problems: ReadProblem[] = [];
    let problemCount = 0;
    const onProblem = (p: ReadProblem): void => {
      problemCount++;
      if (problems.length < LISTED_PROBLEMS) problems.push({ ...p, origin: p.origin.replace(spool, name) });
    };
    let accepted = 0;
    try {
      await ingestFile(parts, spool, name, onProblem, (stored) => (accepted += stored));
    } catch (error) {
      const message = (error as Error).message.replaceAll(spool, name);
      // What was stored before the failure is in the store: the audit log says so too.
      await parts.audit.record(ctx.principal!, 'upload', name, { accepted, problems: problemCount, failed: message });
      // A file that is no event log we read (told by its content) is the client's to fix.
      if ((error as Error).name === 'EventFileError') throw new HttpError(415, message);
      throw error;
    }
    await parts.audit.record(ctx.principal!, 'upload', name, { accepted, problems: problemCount });
    return { json: { file: name, accepted, problems, problem_count: problemCount } };
  } finally {
    uploading.count--;
    await rm(spool, { force: true });
  }
}

/** Reads the spooled file into the pipeline in batches; `onStored` hears of each batch once it is stored. */
async function ingestFile(
  parts: ServerParts,
  path: string,
  name: string,
  onProblem: (p: ReadProblem) => void,
  onStored: (count: number) => void,
): Promise<void> {
  let batch: FirebreakEvent[] = [];
  const flush = async (): Promise<void> => {
    const receivedAt = Date.now();
    // Provenance names the upload, not the spool file.
    const originOf = (event: FirebreakEvent): string => `upload:${name}${event.origin.slice(path.length)}`;
    onStored(await waitForRoom(() => parts.pipeline.ingest(batch, receivedAt, { originOf })));
    batch = [];
  };
  for await (const event of readEventFile(path, onProblem)) {
    batch.push(event);
    if (batch.length >= UPLOAD_BATCH) await flush();
  }
  await flush();
}

/** An upload is one request: rather than fail half-way, it waits while detection catches up. */
async function waitForRoom(ingest: () => Promise<number[]>): Promise<number> {
  for (;;) {
    try {
      return (await ingest()).length;
    } catch (error) {
      if (!(error instanceof HttpError) || error.status !== 429) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function spoolBody(ctx: RouteContext, path: string, limit: number): Promise<void> {
  const declared = Number(ctx.req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `upload larger than ${limit} bytes`);
  let size = 0;
  const counted = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const piece of source) {
      size += piece.length;
      if (size > limit) throw new HttpError(413, `upload larger than ${limit} bytes`);
      yield piece;
    }
  };
  await pipe(ctx.req, counted, createWriteStream(path, { flags: 'wx' }));
}

/** A safe file name: no directories, no control characters, bounded. */
function uploadName(raw: string | null): string {
  const base = (raw ?? 'upload').split(/[\\/]/).pop() ?? 'upload';
  const clean = base.replace(/[^\w.\- ]/g, '_').slice(0, 100);
  return clean === '' || clean === '.' || clean === '..' ? 'upload' : clean;
}
