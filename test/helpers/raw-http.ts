/**
 * HTTP/1.1 over a bare TCP socket, for what fetch cannot do: send a request in pieces (slow
 * clients, bodies held open), pipeline requests, and see exactly what the server writes.
 *
 * @module
 */
import net from 'node:net';

/** One parsed response: status, lower-cased headers, body text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A connected socket and everything it has received until the server closed it. */
export interface RawConnection {
  socket: net.Socket;
  /** Writes raw bytes (a string is sent as UTF-8). */
  write(data: string): Promise<void>;
  /** Resolves with all bytes received once the server closes the connection (or it errors). */
  closed: Promise<string>;
  /** Bytes received so far. */
  received(): string;
}

/** Opens a TCP connection to 127.0.0.1:`port`. */
export function connect(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    const closed = new Promise<string>((done) => {
      socket.on('close', () => done(data));
      socket.on('error', () => {});
    });
    socket.once('connect', () =>
      resolve({
        socket,
        write: (chunk) => new Promise<void>((ok, fail) => socket.write(chunk, (error) => (error ? fail(error) : ok()))),
        closed,
        received: () => data,
      }),
    );
    socket.once('error', reject);
  });
}

/**
 * Splits a byte stream into the responses it holds (Content-Length-delimited bodies only, which is
 * what this service sends).
 */
export function parseResponses(stream: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = stream;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyBytes = Buffer.from(rest.slice(end + 4), 'utf8');
    responses.push({
      status: Number(statusLine.split(' ')[1]),
      headers,
      body: bodyBytes.subarray(0, length).toString('utf8'),
    });
    rest = bodyBytes.subarray(length).toString('utf8');
  }
  return responses;
}

/** Waits until `predicate()` holds, polling every 50 ms, at most `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The JSON log lines in `text` (other lines, such as Node warnings, are skipped). */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
