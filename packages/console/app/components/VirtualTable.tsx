/**
 * A table that renders only the rows in view (fixed row height), so 10,000 incidents or alerts
 * scroll and sort without the page slowing down. Keyboard: ↑/↓ or j/k move, Home/End jump,
 * Enter opens the selected row; a click selects, a double click or Enter opens.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';

export interface Column<T> {
  key: string;
  title: string;
  /** CSS grid track, e.g. `120px` or `2fr`. */
  width: string;
  render(row: T): ComponentChildren;
  /** Sort key; a column without one cannot be sorted. */
  sort?(row: T): string | number;
  align?: 'right';
}

interface Props<T> {
  rows: T[];
  columns: Column<T>[];
  rowKey(row: T): string | number;
  onOpen?(row: T): void;
  /** Visible height in px (default: fills the space the layout gives it). */
  height?: number;
  label: string;
  empty?: ComponentChildren;
  initialSort?: { key: string; descending: boolean };
}

const ROW_HEIGHT = 32;
const OVERSCAN = 8;

export function VirtualTable<T>(props: Props<T>) {
  const { rows, columns, rowKey, onOpen, label } = props;
  const [sort, setSort] = useState(props.initialSort);
  const [selected, setSelected] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(props.height ?? 480);
  const body = useRef<HTMLDivElement>(null);

  const sorted = useMemo(() => sortRows(rows, columns, sort), [rows, columns, sort]);
  const template = columns.map((c) => c.width).join(' ');

  useEffect(() => {
    const element = body.current;
    if (!element || props.height) return;
    const observer = new ResizeObserver(() => setViewport(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, [props.height]);

  useEffect(() => setSelected((s) => Math.min(s, Math.max(0, sorted.length - 1))), [sorted.length]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(sorted.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);

  const select = (index: number): void => {
    const next = Math.max(0, Math.min(sorted.length - 1, index));
    setSelected(next);
    const element = body.current;
    if (!element) return;
    const top = next * ROW_HEIGHT;
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + ROW_HEIGHT > element.scrollTop + element.clientHeight) element.scrollTop = top + ROW_HEIGHT - element.clientHeight;
  };

  const onKey = (event: KeyboardEvent): void => {
    const page = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1, PageDown: page, PageUp: -page };
    if (event.key in moves) select(selected + moves[event.key]!);
    else if (event.key === 'Home') select(0);
    else if (event.key === 'End') select(sorted.length - 1);
    else if (event.key === 'Enter' && sorted[selected] && onOpen) onOpen(sorted[selected]!);
    else return;
    event.preventDefault();
  };

  const toggleSort = (column: Column<T>): void => {
    if (!column.sort) return;
    setSort((s) => (s?.key === column.key ? { key: column.key, descending: !s.descending } : { key: column.key, descending: true }));
  };

  return (
    <div class="vtable" role="grid" aria-label={label} aria-rowcount={sorted.length}>
      <div class="vtable-head" style={{ gridTemplateColumns: template }} role="row">
        {columns.map((column) => (
          <div
            key={column.key}
            role="columnheader"
            class={`${column.sort ? 'sortable' : ''} ${column.align === 'right' ? 'right' : ''}`}
            aria-sort={sort?.key === column.key ? (sort.descending ? 'descending' : 'ascending') : undefined}
            onClick={() => toggleSort(column)}
          >
            {column.title}
            {sort?.key === column.key ? (sort.descending ? ' ▾' : ' ▴') : ''}
          </div>
        ))}
      </div>
      <div
        class="vtable-body"
        ref={body}
        tabIndex={0}
        style={props.height ? { height: `${props.height}px` } : undefined}
        onScroll={(event) => setScrollTop((event.currentTarget as HTMLDivElement).scrollTop)}
        onKeyDown={onKey}
      >
        {sorted.length === 0 ? (
          <div class="empty">{props.empty ?? 'Nothing here.'}</div>
        ) : (
          <div style={{ height: `${sorted.length * ROW_HEIGHT}px`, position: 'relative' }}>
            {sorted.slice(first, last).map((row, offset) => {
              const index = first + offset;
              return (
                <div
                  key={rowKey(row)}
                  role="row"
                  aria-rowindex={index + 1}
                  aria-selected={index === selected}
                  class={`vtable-row${index === selected ? ' selected' : ''}`}
                  style={{ gridTemplateColumns: template, top: `${index * ROW_HEIGHT}px`, height: `${ROW_HEIGHT}px` }}
                  onClick={() => setSelected(index)}
                  onDblClick={() => onOpen?.(row)}
                >
                  {columns.map((column) => (
                    <div key={column.key} role="gridcell" class={column.align === 'right' ? 'right' : undefined}>
                      {column.render(row)}
                    </div>
                  ))}
                </div>
              );
            })}
          </div>
        )}
      </div>
    </div>
  );
}

function sortRows<T>(rows: T[], columns: Column<T>[], sort: { key: string; descending: boolean } | undefined): T[] {
  const column = sort && columns.find((c) => c.key === sort.key);
  if (!column?.sort) return rows;
  const keyOf = column.sort;
  const direction = sort!.descending ? -1 : 1;
  // Keys computed once per row: sorting 10,000 rows calls the comparator ~130,000 times.
  const keyed = rows.map((row) => ({ row, key: keyOf(row) }));
  keyed.sort((a, b) => (a.key < b.key ? -direction : a.key > b.key ? direction : 0));
  return keyed.map((k) => k.row);
}
