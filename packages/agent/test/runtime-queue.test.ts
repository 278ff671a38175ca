import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DiskQueue, type QueuedBatch } from '../src/runtime/queue.js';

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'firebreak-agent-queue-'));
  try {
    await run(join(base, 'queue'));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

function events(batch: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({ _kind: 'process_creation', Image: `/usr/bin/tool-${batch}`, ProcessId: i }));
}

async function collect(batches: AsyncIterable<QueuedBatch>): Promise<QueuedBatch[]> {
  const all: QueuedBatch[] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort();
}

test('queued batches survive reopening, in order, and sequence numbers keep growing', async () => {
  await withDir(async (dir) => {
    const queue = await DiskQueue.open(dir);
    const seqs = [];
    for (let batch = 1; batch <= 5; batch++) seqs.push(await queue.push(events(batch, batch)));
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
    assert.equal(queue.queued, 15);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    await queue.close();

    const reopened = await DiskQueue.open(dir);
    assert.equal(reopened.queued, 15);
    const replay = await collect(reopened.unacked());
    assert.deepEqual(
      replay.map((batch) => batch.seq),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(replay[2].events, events(3, 3));
    assert.deepEqual(
      (await collect(reopened.unacked(3))).map((batch) => batch.seq),
      [4, 5],
    );
    assert.equal(await reopened.push(events(6, 1)), 6);
    for (const name of await segmentFiles(dir)) assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600);
    await reopened.close();
  });
});

test('acknowledging deletes fully acknowledged segments and is remembered across reopening', async () => {
  await withDir(async (dir) => {
    // Two batches per segment file.
    const queue = await DiskQueue.open(dir, { segmentBytes: 330 });
    for (let batch = 1; batch <= 6; batch++) await queue.push(events(batch, 2));
    assert.equal((await segmentFiles(dir)).length, 3);

    await queue.ack(3);
    assert.equal(queue.queued, 6);
    assert.deepEqual(await segmentFiles(dir), ['0000000000000003.jsonl', '0000000000000005.jsonl']);
    assert.deepEqual(
      (await collect(queue.unacked())).map((batch) => batch.seq),
      [4, 5, 6],
    );
    await queue.close();

    const reopened = await DiskQueue.open(dir, { segmentBytes: 330 });
    assert.equal(reopened.ackedSeq, 3);
    assert.equal(reopened.queued, 6);
    assert.deepEqual(
      (await collect(reopened.unacked())).map((batch) => batch.seq),
      [4, 5, 6],
    );
    await reopened.ack(6);
    assert.equal(reopened.queued, 0);
    assert.deepEqual(await segmentFiles(dir), []);
    await reopened.close();

    // Nothing left on disk but the mark: numbering goes on after it, never back to 1.
    const again = await DiskQueue.open(dir, { segmentBytes: 330 });
    assert.equal(await again.push(events(7, 1)), 7);
    await again.close();
  });
});

test('a line torn by a crash is cut off with a warning and the batches before it kept', async () => {
  await withDir(async (dir) => {
    const queue = await DiskQueue.open(dir);
    for (let batch = 1; batch <= 3; batch++) await queue.push(events(batch, 2));
    await queue.close();
    const [segment] = await segmentFiles(dir);
    const intact = (await stat(join(dir, segment))).size;
    await appendFile(join(dir, segment), '{"seq":4,"events":[{"_kind":"proc');

    const warnings: string[] = [];
    const reopened = await DiskQueue.open(dir, { onWarning: (message) => warnings.push(message) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /line 4 was torn by a crash .*the 3 batches before it kept/);
    assert.ok(warnings[0].includes(segment));
    assert.equal((await stat(join(dir, segment))).size, intact);
    assert.deepEqual(
      (await collect(reopened.unacked())).map((batch) => batch.seq),
      [1, 2, 3],
    );
    assert.equal(await reopened.push(events(4, 1)), 4);
    await reopened.close();

    const clean: string[] = [];
    const third = await DiskQueue.open(dir, { onWarning: (message) => clean.push(message) });
    assert.deepEqual(clean, []);
    assert.deepEqual(
      (await collect(third.unacked())).map((batch) => batch.seq),
      [1, 2, 3, 4],
    );
    await third.close();
  });
});

test('a damaged line inside a segment is skipped and the lines around it kept', async () => {
  await withDir(async (dir) => {
    const queue = await DiskQueue.open(dir);
    await queue.push(events(1, 1));
    await queue.close();
    const [segment] = await segmentFiles(dir);
    await appendFile(join(dir, segment), 'not json at all\n{"seq":2,"events":[{"a":1}]}\n');
    const warnings: string[] = [];
    const reopened = await DiskQueue.open(dir, { onWarning: (message) => warnings.push(message) });
    assert.deepEqual(warnings, [`${join(dir, segment)}: line 2 is not a queued batch; skipped`]);
    assert.deepEqual(await collect(reopened.unacked()), [
      { seq: 1, events: events(1, 1) },
      { seq: 2, events: [{ a: 1 }] },
    ]);
    await reopened.close();
  });
});

test('a full queue drops its oldest batches, counts their events, and stays within maxBytes', async () => {
  await withDir(async (dir) => {
    const maxBytes = 4096;
    const queue = await DiskQueue.open(dir, { maxBytes, segmentBytes: 512 });
    const pushed: number[] = [];
    for (let batch = 1; batch <= 60; batch++) {
      pushed.push(await queue.push(events(batch, 3)));
      assert.ok(queue.bytes <= maxBytes, `${queue.bytes} bytes after batch ${batch}`);
    }
    const files = await segmentFiles(dir);
    let onDisk = 0;
    for (const name of files) onDisk += (await stat(join(dir, name))).size;
    assert.equal(onDisk, queue.bytes);
    assert.ok(onDisk <= maxBytes);

    const kept = (await collect(queue.unacked())).map((batch) => batch.seq);
    assert.ok(kept.length > 0 && kept.length < 60);
    // What is left is the newest batches, without a gap; everything older was dropped and counted.
    assert.deepEqual(kept, pushed.slice(60 - kept.length));
    assert.equal(queue.dropped, (60 - kept.length) * 3);
    assert.equal(queue.queued, kept.length * 3);
    await queue.close();

    const reopened = await DiskQueue.open(dir, { maxBytes, segmentBytes: 512 });
    assert.equal(reopened.dropped, (60 - kept.length) * 3);
    assert.equal(await reopened.push(events(61, 1)), 61);
    await reopened.close();
  });
});

test('acknowledged batches dropped for room are not counted as lost', async () => {
  await withDir(async (dir) => {
    const queue = await DiskQueue.open(dir, { maxBytes: 2048, segmentBytes: 512 });
    // The first segment holds batches 1-3; 1 and 2 are acknowledged, 3 is not, so the file stays.
    for (let batch = 1; batch <= 3; batch++) await queue.push(events(batch, 2));
    await queue.ack(2);
    assert.deepEqual(await segmentFiles(dir), ['0000000000000001.jsonl']);
    for (let batch = 4; batch <= 40; batch++) await queue.push(events(batch, 2));
    const kept = (await collect(queue.unacked())).map((batch) => batch.seq);
    assert.ok(kept[0] > 3);
    // Batches 3 to 40 were unacknowledged: those not kept are the loss, 1 and 2 are not.
    assert.equal(queue.dropped, (38 - kept.length) * 2);
    await queue.close();
  });
});

test('a batch larger than the whole queue is refused and the queue left as it was', async () => {
  await withDir(async (dir) => {
    const queue = await DiskQueue.open(dir, { maxBytes: 1024 });
    await queue.push(events(1, 1));
    const huge = [{ CommandLine: 'x'.repeat(2000) }];
    await assert.rejects(queue.push(huge), /more than the event queue holds \(1024\)/);
    assert.equal(await queue.push(events(2, 1)), 2);
    assert.deepEqual(
      (await collect(queue.unacked())).map((batch) => batch.seq),
      [1, 2],
    );
    assert.equal(queue.dropped, 0);
    await queue.close();
  });
});

test('an unreadable acknowledgement mark only means batches are sent again', async () => {
  await withDir(async (dir) => {
    const queue = await DiskQueue.open(dir);
    for (let batch = 1; batch <= 3; batch++) await queue.push(events(batch, 1));
    await queue.ack(1);
    await queue.close();
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')), { acked: 1, dropped: 0, droppedThrough: 0 });
    await appendFile(join(dir, 'meta.json'), 'garbage');
    const warnings: string[] = [];
    const reopened = await DiskQueue.open(dir, { onWarning: (message) => warnings.push(message) });
    assert.match(warnings[0], /meta.json is not valid JSON.*sent again/);
    assert.deepEqual(
      (await collect(reopened.unacked())).map((batch) => batch.seq),
      [1, 2, 3],
    );
    assert.equal(await reopened.push(events(4, 1)), 4);
    await reopened.close();
  });
});
