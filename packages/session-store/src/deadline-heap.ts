/** One scheduled check: at `at`, look at `key` again. */
export interface DeadlineEntry<T> {
  readonly at: number;
  readonly key: T;
}

/**
 * A binary min-heap of deadlines. Entries are never removed from the middle: callers delete lazily, by checking
 * when an entry pops whether it still means anything. Push and pop are O(log n).
 */
export class DeadlineHeap<T> {
  readonly #items: DeadlineEntry<T>[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): DeadlineEntry<T> | undefined {
    return this.#items[0];
  }

  push(at: number, key: T): void {
    const items = this.#items;
    items.push({ at, key });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= items[i]!.at) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  pop(): DeadlineEntry<T> | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && items[left]!.at < items[smallest]!.at) smallest = left;
      if (right < items.length && items[right]!.at < items[smallest]!.at) smallest = right;
      if (smallest === i) break;
      [items[smallest], items[i]] = [items[i]!, items[smallest]!];
      i = smallest;
    }
    return top;
  }

  clear(): void {
    this.#items.length = 0;
  }
}
