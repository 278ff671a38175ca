/** The `capacity` best items of a stream, in a binary heap whose root is the worst one kept. */
export class BoundedBest<T extends K, K = T> {
  private readonly heap: T[] = [];

  /** `better(a, b)`: a ranks before b. Only the fields of K are read. */
  constructor(
    readonly capacity: number,
    private readonly better: (a: K, b: K) => boolean,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Whether `add` would keep an item that ranks like `key`: lets a caller skip building items that would be dropped. */
  wouldKeep(key: K): boolean {
    return this.heap.length < this.capacity || (this.capacity > 0 && this.better(key, this.heap[0]!));
  }

  add(item: T): void {
    if (this.heap.length < this.capacity) {
      this.heap.push(item);
      this.siftUp(this.heap.length - 1);
    } else if (this.wouldKeep(item)) {
      this.heap[0] = item;
      this.siftDown(0);
    }
  }

  /** The items kept, best first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(heap[parent]!, heap[i]!)) return;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      let worst = i;
      for (const child of [2 * i + 1, 2 * i + 2]) if (child < heap.length && this.better(heap[worst]!, heap[child]!)) worst = child;
      if (worst === i) return;
      [heap[worst], heap[i]] = [heap[i]!, heap[worst]!];
      i = worst;
    }
  }
}
