// A memo bounded in entries and in total size, least recently used out first: the plan, values-parse and render
// memos each kept their own copy of this bookkeeping. A Map keeps insertion order, which is all the order an LRU
// needs (a hit moves its key to the end); no dependency for twenty lines. Pure: no I/O.
export class Lru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes = Infinity,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value remembered under key (now the most recently used), or undefined. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /**
   * Remembers value under key, unless the key is there already (the first result stands: two renders of one
   * request in flight together must not replace what a caller already got), then drops the least recently used
   * past either bound. The newest entry stays even when it alone is over maxBytes.
   */
  add(key: string, value: V, bytes = 0): void {
    if (this.entries.has(key)) return;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    while (this.entries.size > this.maxEntries || (this.bytes > this.maxBytes && this.entries.size > 1)) {
      const oldest = this.entries.keys().next().value!;
      this.bytes -= this.entries.get(oldest)!.bytes;
      this.entries.delete(oldest);
    }
  }
}
