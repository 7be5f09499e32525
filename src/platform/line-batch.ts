/**
 * Log lines gathered over one event-loop turn and handed to the sinks once, at the end of the turn.
 *
 * An asynchronous sonic-boom stream starts an `fs.write` (a trip through libuv's thread pool) for
 * the first line it gets whenever no write is in flight, so at a few thousand requests a second
 * nearly every line paid for its own write, on each sink (BENCHMARKS.md, "Log lines batched per
 * event-loop turn"). Requests answered in the same turn now share one write per sink. Lines are
 * held only until the turn ends (a `setImmediate`), never for a size or a timer, and
 * {@link LineBatch.flush} hands over what is held at once, so a stop loses nothing that
 * {@link LineBatch.write} accepted.
 *
 * @module
 */

/** What a sink must offer: sonic-boom's `write`. */
export interface LineSink {
  write(chunk: string): unknown;
}

/**
 * Collects the lines pino writes during one event-loop turn, and writes them to every sink as one
 * string at the end of the turn. The sinks are read at each hand-over, so a sink removed from the
 * list (a log file that failed) gets nothing more.
 *
 * @example
 * const batch = new LineBatch(() => [stdout, file]);
 * const logger = pino({}, batch);
 * // at shutdown: batch.flush(), then each sink's flushSync()
 */
export class LineBatch {
  readonly #sinks: () => readonly LineSink[];
  #pending = '';
  #scheduled = false;

  constructor(sinks: () => readonly LineSink[]) {
    this.#sinks = sinks;
  }

  /** Takes one line (pino's JSON and newline); it reaches the sinks when this event-loop turn ends. */
  write(line: string): boolean {
    this.#pending += line;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Hands every held line to the sinks now (their own writes may still be under way). */
  flush(): void {
    this.#scheduled = false;
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
