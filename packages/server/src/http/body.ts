/**
 * Request bodies, read whole with a size limit that holds for what arrives on the wire and for
 * what it decompresses to (Beats compress their bulk requests by default).
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { HttpError } from './errors.js';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const source = decoded(req);
  const pieces: Buffer[] = [];
  let size = 0;
  try {
    for await (const piece of source) {
      size += (piece as Buffer).length;
      if (size > limit) throw tooLarge(limit);
      pieces.push(piece as Buffer);
    }
  } catch (error) {
    // Whatever is still arriving is not read; the socket closes after the response.
    req.resume();
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `cannot read the request body: ${(error as Error).message}`);
  }
  return Buffer.concat(pieces, size);
}

function decoded(req: IncomingMessage): AsyncIterable<unknown> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  let inflater: Gunzip | Inflate;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = createGunzip();
  else if (encoding === 'deflate') inflater = createInflate();
  else if (encoding === 'identity') return req;
  else throw new HttpError(415, `unsupported Content-Encoding "${encoding}" (use gzip, deflate or none)`);
  req.on('error', (e) => inflater.destroy(e));
  return req.pipe(inflater);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body larger than ${limit} bytes; send smaller batches`);
}

/** The body as JSON; a body that is not JSON is a 400 naming the problem. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new HttpError(400, 'expected a JSON body, got none');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `the body is not JSON: ${(error as Error).message}`);
  }
}
