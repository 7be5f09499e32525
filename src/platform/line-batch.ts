/**
 * Log lines gathered for a few milliseconds and handed to the sinks together.
 *
 * An asynchronous sonic-boom stream starts an `fs.write` (a trip through libuv's thread pool) for
 * the first line it gets whenever no write is in flight, so at a few thousand requests a second
 * nearly every line paid for its own write, on each sink; each such write wakes a pool thread and
 * then the event loop again, and on a virtual machine a wake-up costs more than the write
 * (BENCHMARKS.md, "Log lines batched per event-loop turn" and "Log lines gathered for 5 ms"). Lines
 * are held at most {@link LINE_BATCH_MS}, or until {@link LINE_BATCH_MAX_CHARS} are waiting, and
 * {@link LineBatch.flush} hands over what is held at once, so a stop loses nothing that
 * {@link LineBatch.write} accepted.
 *
 * @module
 */

/**
 * Longest a line waits before it is handed to the sinks, in milliseconds. At 10,000 requests a
 * second, 5 ms gathers some 100 lines into one write per sink; a person reading the console
 * does not see the delay.
 */
export const LINE_BATCH_MS = 5;

/**
 * UTF-16 characters held at most before they are handed over without waiting: 64 Ki, the size of
 * one sink write in bytes for ASCII lines (platform/logger.ts), so a burst is never held as one
 * large string.
 */
export const LINE_BATCH_MAX_CHARS = 64 * 1024;

/** What a sink must offer: sonic-boom's `write`. */
export interface LineSink {
  write(chunk: string): unknown;
}

/**
 * Collects the lines pino writes, and writes them to every sink as one string at most
 * {@link LINE_BATCH_MS} after the first of them. The sinks are read at each hand-over, so a sink
 * removed from the list (a log file that failed) gets nothing more.
 *
 * @example
 * const batch = new LineBatch(() => [stdout, file]);
 * const logger = pino({}, batch);
 * // at shutdown: batch.flush(), then each sink's flushSync()
 */
export class LineBatch {
  readonly #sinks: () => readonly LineSink[];
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  readonly #flush = () => this.flush();

  constructor(sinks: () => readonly LineSink[]) {
    this.#sinks = sinks;
  }

  /** Takes one line (pino's JSON and newline); it reaches the sinks within {@link LINE_BATCH_MS}. */
  write(line: string): boolean {
    this.#pending += line;
    if (this.#pending.length >= LINE_BATCH_MAX_CHARS) this.flush();
    else this.#timer ??= setTimeout(this.#flush, LINE_BATCH_MS);
    return true;
  }

  /** Hands every held line to the sinks now (their own writes may still be under way). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending === '') return;
    const lines = this.#pending;
    this.#pending = '';
    for (const sink of this.#sinks()) {
      try {
        sink.write(lines);
      } catch {
        // A sink already ended or destroyed throws; its failures are reported by its own 'error' event.
      }
    }
  }
}
