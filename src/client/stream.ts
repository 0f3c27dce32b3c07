// client/stream.ts: EventStream, a push-fed async iterator: the producer pushes values, ends it or fails it; the
// consumer iterates (`for await`), and breaking out of the loop (return()) or `await using` (Symbol.asyncDispose)
// ends it and runs its cleanup. Values are buffered without bound until read. No I/O; no rejection is ever left
// unhandled (a failure is only surfaced through a next() the consumer called).

type Waiter<T> = { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void };

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class EventStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private readonly waiters: Array<Waiter<T>> = [];
  private finished = false;
  /** A failure not yet seen by the consumer: the next next() rejects with it, later ones report done. */
  private failure: Error | undefined;
  private cleanup: Promise<void> | undefined;

  /** `onFinish` runs once when the stream finishes for any reason (end, fail, return); its errors are swallowed. */
  constructor(private readonly onFinish: () => Promise<void> | void = () => undefined) {}

  /** Whether the stream has finished (buffered values may still be unread). */
  get done(): boolean {
    return this.finished;
  }

  push(value: T): void {
    if (this.finished) return;
    const w = this.waiters.shift();
    if (w) w.resolve({ done: false, value });
    else this.buffer.push(value);
  }

  /** Ends the stream after the values already buffered. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.buffer.length === 0) for (const w of this.waiters.splice(0)) w.resolve(DONE);
    void this.finish();
  }

  /** Ends the stream at once (buffered values are dropped); the next next() rejects with `e`. */
  fail(e: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.buffer.length = 0;
    const first = this.waiters.shift();
    if (first) first.reject(e);
    else this.failure = e;
    for (const w of this.waiters.splice(0)) w.resolve(DONE);
    void this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      const value = this.buffer.shift() as T;
      if (this.finished && this.buffer.length === 0) for (const w of this.waiters.splice(0)) w.resolve(DONE);
      return Promise.resolve({ done: false, value });
    }
    if (this.failure) {
      const e = this.failure;
      this.failure = undefined;
      return Promise.reject(e);
    }
    if (this.finished) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Ends the stream (buffered values dropped) and waits for its cleanup. Never rejects. */
  async return(): Promise<IteratorResult<T>> {
    if (!this.finished) {
      this.finished = true;
      this.buffer.length = 0;
      for (const w of this.waiters.splice(0)) w.resolve(DONE);
    }
    this.failure = undefined;
    await this.finish();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** `await using w = client.watch(...)`: disposal is return(). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private finish(): Promise<void> {
    this.cleanup ??= (async () => {
      try {
        await this.onFinish();
      } catch {
        // cleanup is best effort
      }
    })();
    return this.cleanup;
  }
}
