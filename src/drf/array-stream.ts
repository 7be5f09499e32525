/**
 * A JSON array answered as it is read, batch by batch, rendered byte for byte as the view hooks
 * (view.ts) render a whole array: compact JSON, `Accept: application/json; indent=N`, or the
 * Browsable API page. DRF's `ListModelMixin` builds the whole list first; the bytes are the same,
 * only the memory and the time to the first byte differ.
 *
 * Once the first bytes are out the status (200) cannot change, so a failure later is made
 * unmistakable instead: the response is destroyed, which cuts the connection before the chunked
 * body's terminating chunk, and every client reports an incomplete body.
 *
 * @module
 */
import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { browsablePageParts, escapeHtml } from './browsable.js';
import type { Renderer } from './negotiation.js';

/** Where the elements come from: a database cursor, usually. */
interface ArraySource<T> {
  /** The next elements; `[]` once there are no more. */
  read(): Promise<readonly T[]>;
  /**
   * Called once the stream no longer needs the source: after the last element, or when the stream
   * is cut. `error` is the source's own failure (a {@link read} that threw), if that is why.
   */
  close(error?: unknown): Promise<void>;
}

/** Why a stream was cut: reported in its log line. */
class ArrayStreamTimeout extends Error {
  override name = 'ArrayStreamTimeout';
}

export interface ArrayStreamOptions<T> {
  renderer: Readonly<Renderer>;
  /** Elements read already (checked before answering, so a failing source still gets an error response). */
  first: readonly T[];
  source: ArraySource<T>;
  /**
   * Serializes elements as a JSON array text `[…]`: the route's response serializer, so each batch
   * comes out exactly as the whole array would.
   */
  serialize(elements: readonly T[]): string;
  /** For the Browsable API page: DRF's view name and the status line shown under it. */
  title: string;
  statusLine: string;
  /**
   * Longest the source may stay open, in milliseconds: a client that reads slower than that is
   * cut off, so it cannot hold the source's database connection longer.
   */
  timeoutMs: number;
  log: FastifyBaseLogger;
}

/** Turns batches into the renderer's text: `open`, each batch, `separator` between batches, `close`. */
interface Format<T> {
  open: string;
  batch(elements: readonly T[]): string;
  separator: string;
  close: string;
  /** The whole answer when there were no elements at all. */
  empty: string;
}

/** `JSON.stringify(array, null, indent)`'s elements without the brackets, as a batch of the whole array. */
function indentedElements(json: string, indent: number): string {
  return JSON.stringify(JSON.parse(json), null, indent).slice(2, -2);
}

function formatFor<T>(options: ArrayStreamOptions<T>): Format<T> {
  const { renderer, serialize } = options;
  if (renderer.kind === 'html') {
    const [before, after] = browsablePageParts(options.title, options.statusLine);
    return {
      open: `${before}[\n`,
      batch: (elements) => escapeHtml(indentedElements(serialize(elements), 2)),
      separator: ',\n',
      close: `\n]${after}`,
      empty: `${before}[]${after}`,
    };
  }
  const indent = renderer.indent;
  if (indent) {
    return {
      open: '[\n',
      batch: (elements) => indentedElements(serialize(elements), indent),
      separator: ',\n',
      close: '\n]',
      empty: '[]',
    };
  }
  return { open: '[', batch: (elements) => serialize(elements).slice(1, -1), separator: ',', close: ']', empty: '[]' };
}

class ArrayStream<T> extends Readable {
  readonly #options: ArrayStreamOptions<T>;
  readonly #format: Format<T>;
  readonly #timer: NodeJS.Timeout;
  #pending: readonly T[] | undefined;
  #pulling = false;
  #elements = 0;
  #sourceDone = false;
  #sourceError: unknown;

  constructor(options: ArrayStreamOptions<T>) {
    super();
    this.#options = options;
    this.#format = formatFor(options);
    this.#pending = options.first;
    this.#timer = setTimeout(
      () => this.destroy(new ArrayStreamTimeout(`the source stayed open longer than ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
  }

  override _read(): void {
    if (!this.#pulling) void this.#pull();
  }

  /** Reads and pushes batches until the consumer wants no more for now, or the end. */
  async #pull(): Promise<void> {
    this.#pulling = true;
    try {
      for (;;) {
        let batch = this.#pending;
        this.#pending = undefined;
        if (batch === undefined) {
          try {
            batch = await this.#options.source.read();
          } catch (error) {
            this.#sourceError = error;
            throw error;
          }
        }
        if (this.destroyed) return;
        if (batch.length === 0) {
          await this.#closeSource();
          this.push(this.#elements === 0 ? this.#format.empty : this.#format.close);
          this.push(null);
          return;
        }
        const text = this.#format.batch(batch);
        const prefix = this.#elements === 0 ? this.#format.open : this.#format.separator;
        this.#elements += batch.length;
        if (!this.push(prefix + text)) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.#pulling = false;
    }
  }

  async #closeSource(error?: unknown): Promise<void> {
    clearTimeout(this.#timer);
    if (this.#sourceDone) return;
    this.#sourceDone = true;
    await this.#options.source.close(error);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const finished = this.#sourceDone && error === null;
    if (!finished) this.#logCut(error);
    this.#closeSource(this.#sourceError).then(
      () => callback(error),
      (closeError: unknown) => callback(error ?? (closeError as Error)),
    );
  }

  #logCut(error: Error | null): void {
    const { log } = this.#options;
    const sent = { elements: this.#elements };
    if (this.#sourceError !== undefined) {
      log.error({ err: this.#sourceError, ...sent }, 'response cut: the list failed while it was being sent');
    } else if (error instanceof ArrayStreamTimeout) {
      log.warn({ ...sent, timeoutMs: this.#options.timeoutMs }, 'response cut: the client read too slowly');
    } else if (error) {
      log.error({ err: error, ...sent }, 'response cut: the list could not be rendered');
    } else {
      log.info(sent, 'response cut: the client went away');
    }
  }
}

/**
 * Sends `options.first` and then everything `options.source` yields as one JSON array (or HTML
 * page), with the content type the whole array would have had. Backpressure holds: the source is
 * read only as the socket takes the bytes. When the client disconnects, the source is closed at once.
 *
 * @returns the reply, for the route handler to return.
 */
export function sendArrayStream<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  options: Omit<ArrayStreamOptions<T>, 'log' | 'renderer' | 'statusLine'>,
): FastifyReply {
  const renderer = request.renderer ?? { kind: 'json' };
  reply.type(renderer.kind === 'html' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8');
  const statusLine = `${request.method} ${request.url} → ${reply.statusCode}`;
  return reply.send(new ArrayStream({ ...options, renderer, statusLine, log: request.log }));
}
