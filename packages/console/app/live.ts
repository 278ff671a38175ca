/**
 * The live feed (/api/v1/live, Server-Sent Events). EventSource cannot send an Authorization header,
 * so the stream is read with fetch and split into events here; it reconnects with a growing pause.
 */
import { signal } from '@preact/signals';
import { session } from './session';

export type LiveKind = 'alert' | 'incident' | 'action' | 'agent';
type Listener = (kind: LiveKind, data: unknown) => void;

export const liveState = signal<'connecting' | 'live' | 'offline'>('connecting');
const listeners = new Set<Listener>();
let controller: AbortController | undefined;

/** Calls `listener` for every live event until the returned function is called. */
export function onLive(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function startLive(): void {
  stopLive();
  const abort = (controller = new AbortController());
  void run(abort.signal);
}

export function stopLive(): void {
  controller?.abort();
  controller = undefined;
}

async function run(signal: AbortSignal): Promise<void> {
  let pause = 1000;
  while (!signal.aborted && session.value) {
    liveState.value = 'connecting';
    try {
      const response = await fetch('/api/v1/live', { headers: { authorization: `Bearer ${session.value.token}` }, signal });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      liveState.value = 'live';
      pause = 1000;
      await readEvents(response.body, signal);
    } catch {
      if (signal.aborted) return;
    }
    liveState.value = 'offline';
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 30_000);
  }
}

async function readEvents(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      dispatch(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

function dispatch(frame: string): void {
  let kind = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) kind = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.join('\n'));
  } catch {
    return;
  }
  for (const listener of listeners) listener(kind as LiveKind, parsed);
}
