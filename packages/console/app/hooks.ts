/** Data loading for pages: a request keyed by its inputs, reloadable, and refreshed by live events. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get } from './api';
import { onLive, type LiveKind } from './live';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload(): void;
}

/** GETs `path` (nothing while it is undefined); a newer request wins over an older one still running. */
export function useGet<T>(path: string | undefined): Loaded<T> {
  return useLoad<T>(path, () => get<T>(path!), path !== undefined);
}

export function useLoad<T>(key: unknown, load: () => Promise<T>, enabled = true): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: enabled });
  const [version, setVersion] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    if (!enabled) return;
    const request = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => request === latest.current && setState({ data, loading: false }),
      (error: Error) => request === latest.current && setState((previous) => ({ ...previous, error: error.message, loading: false })),
    );
    // The key stands for load's inputs: load itself is a new closure on every render.
  }, [JSON.stringify(key), version, enabled]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/**
 * Runs `react` on live events of the given kinds, at most once per `everyMs` (a burst of alerts
 * reloads a page once, not a thousand times).
 */
export function useLive(kinds: LiveKind[], react: (kind: LiveKind, data: unknown) => void, everyMs = 1000): void {
  const latest = useRef(react);
  latest.current = react;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const queued: [LiveKind, unknown][] = [];
    const flush = (): void => {
      timer = undefined;
      last = Date.now();
      for (const [kind, data] of queued.splice(0)) latest.current(kind, data);
    };
    const off = onLive((kind, data) => {
      if (!kinds.includes(kind)) return;
      queued.push([kind, data]);
      if (timer === undefined) timer = setTimeout(flush, Math.max(0, everyMs - (Date.now() - last)));
    });
    return () => {
      off();
      if (timer !== undefined) clearTimeout(timer);
    };
    // kinds is a constant list per caller; its text is the dependency.
  }, [kinds.join(',')]);
}

/** Calls `tick` every `ms` while mounted. */
export function useInterval(tick: () => void, ms: number): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms]);
}

export interface Paged<T> {
  rows: T[];
  /** All pages are in (or the cap was reached). */
  complete: boolean;
  error: string | undefined;
  reload(): void;
}

/**
 * Loads a list page by page (the API gives at most 1,000 rows a request) and shows the rows as they
 * come, so the first screen of a 10,000-row list is there after the first page, not the last.
 */
export function usePaged<T, C>(
  key: unknown,
  fetchPage: (cursor: C | undefined) => Promise<{ rows: T[]; next: C | undefined }>,
  cap: number,
): Paged<T> {
  const [state, setState] = useState<{ rows: T[]; complete: boolean; error?: string }>({ rows: [], complete: false });
  const [version, setVersion] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const request = ++latest.current;
    const current = (): boolean => request === latest.current;
    void (async () => {
      const rows: T[] = [];
      let cursor: C | undefined;
      try {
        do {
          const page = await fetchPage(cursor);
          if (!current()) return;
          rows.push(...page.rows);
          cursor = page.next;
          const complete = cursor === undefined || rows.length >= cap;
          // A reload keeps showing the old rows until the new first page is in; then they grow page by page.
          setState({ rows: rows.slice(0, cap), complete });
        } while (cursor !== undefined && rows.length < cap);
      } catch (error) {
        if (current()) setState((previous) => ({ ...previous, complete: true, error: (error as Error).message }));
      }
    })();
    // The key stands for fetchPage's inputs.
  }, [JSON.stringify(key), version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { rows: state.rows, complete: state.complete, error: state.error, reload };
}

/**
 * The rows whose text contains `filter` (case-insensitive). Each row's text is made once per load,
 * not once per keystroke: a keystroke over 10,000 rows is one pass of `includes`.
 */
export function useTextFilter<T>(rows: T[], textOf: (row: T) => string, filter: string): T[] {
  const searchable = useMemo(() => rows.map((row) => ({ row, text: textOf(row).toLowerCase() })), [rows]);
  return useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return needle ? searchable.filter((s) => s.text.includes(needle)).map((s) => s.row) : rows;
  }, [searchable, filter]);
}
