/**
 * Log lines gathered over one event-loop turn and handed to the sinks once, at the end of the turn.
 *
 * An asynchronous sonic-boom stream starts an `fs.write` (a trip through libuv's thread pool) for
 * the first line it gets whenever no write is in flight, so at a few thousand requests a second
 * nearly every line paid for its own write, on each sink: about half the server's CPU per request
 * on `/healthz` (BENCHMARKS.md, "Log lines batched per event-loop turn"). Requests answered in the
 * same turn now share one write per sink. Lines are held only until the turn ends (a
 * `setImmediate`), never for a size or a timer, and {@link LineBatch.flush} hands over what is held
 * at once, so a stop loses nothing that {@link LineBatch.write} accepted.
 *
 * @module
 */

/** What a sink must offer: sonic-boom's `write`. */
export interface LineSink {
  write(chunk: string): unknown;
}

/**
 * Longest chunk handed to a sink, in UTF-8 bytes, unless one line alone is longer: POSIX
 * `PIPE_BUF` on Linux. A write of at most that many bytes to a pipe is atomic, so lines of cluster
 * workers sharing the primary's stdout pipe never interleave mid-line.
 */
export const MAX_CHUNK_BYTES = 4096;

/**
 * Collects the lines pino writes during one event-loop turn, and writes them to every sink at the
 * end of the turn, in chunks of whole lines of at most {@link MAX_CHUNK_BYTES} bytes (a longer line
 * goes alone). The sinks are read at each hand-over, so a sink removed from the list (a log file
 * that failed) gets nothing more.
 *
 * @example
 * const batch = new LineBatch(() => [stdout, file]);
 * const logger = pino({}, batch);
 * // at shutdown: batch.flush(), then each sink's flushSync()
 */
export class LineBatch {
  readonly #sinks: () => readonly LineSink[];
  /** Chunks complete but not yet handed over, oldest first. */
  #chunks: string[] = [];
  #current = '';
  #currentBytes = 0;
  #scheduled = false;

  constructor(sinks: () => readonly LineSink[]) {
    this.#sinks = sinks;
  }

  /** Takes one line (pino's JSON and newline); it reaches the sinks when this event-loop turn ends. */
  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    if (this.#currentBytes > 0 && this.#currentBytes + bytes > MAX_CHUNK_BYTES) {
      this.#chunks.push(this.#current);
      this.#current = '';
      this.#currentBytes = 0;
    }
    this.#current += line;
    this.#currentBytes += bytes;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Hands every held line to the sinks now (their own writes may still be under way). */
  flush(): void {
    this.#scheduled = false;
    if (this.#currentBytes > 0) {
      this.#chunks.push(this.#current);
      this.#current = '';
      this.#currentBytes = 0;
    }
    if (this.#chunks.length === 0) return;
    const chunks = this.#chunks;
    this.#chunks = [];
    for (const sink of this.#sinks()) {
      try {
        for (const chunk of chunks) sink.write(chunk);
      } catch {
        // A sink already ended or destroyed throws; its failures are reported by its own 'error' event.
      }
    }
  }
}
