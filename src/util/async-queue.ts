export interface AsyncQueueOptions<T> {
  /** Bound on the summed size of queued items; past it the oldest are dropped (live audio: fresh beats complete). */
  capacity?: number;
  sizeOf?: (item: T) => number;
  onDrop?: (item: T) => void;
}

/**
 * Where a push source (a socket, a worker thread) meets a pull consumer (`for await`). Single consumer.
 * Unbounded unless given a capacity; then it never blocks the producer but drops the oldest items.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private size = 0;
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(private readonly options: AsyncQueueOptions<T> = {}) {}

  /** The summed size of the items waiting (by `sizeOf`; a count of items without it). */
  get queuedSize(): number {
    return this.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    const { capacity, sizeOf = () => 1, onDrop } = this.options;
    this.size += sizeOf(item);
    while (capacity !== undefined && this.size > capacity && this.items.length > 1) {
      const dropped = this.items.shift()!;
      this.size -= sizeOf(dropped);
      onDrop?.(dropped);
    }
    this.notify();
  }

  /** No more items; the consumer finishes what is queued, then its loop ends. Safe to call twice. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The consumer's loop throws `err` after the queued items. */
  fail(err: unknown): void {
    if (this.ended) return;
    this.failure = err;
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const sizeOf = this.options.sizeOf ?? (() => 1);
    for (;;) {
      if (this.items.length > 0) {
        const item = this.items.shift()!;
        this.size -= sizeOf(item);
        yield item;
        continue;
      }
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
