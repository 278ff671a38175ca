/** Putting events in time order. */

/**
 * Sorts `items` in place by time, oldest first, and returns them. The sort is stable: items with
 * the same time keep the order they were added in (for a timeline: file order, then record order).
 * Items without a time go last, in that order too.
 */
export function timeOrder<T>(items: T[], timeOf: (item: T) => number | undefined): T[] {
  return items.sort((a, b) => {
    const ta = timeOf(a) ?? Infinity;
    const tb = timeOf(b) ?? Infinity;
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  });
}
