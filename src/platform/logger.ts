/**
 * JSON-lines logging to stdout and to `LOG_DIR/api_server.log`, through pino.
 *
 * Both sinks are asynchronous sonic-boom streams, so a slow disk never blocks a request; the lines of
 * a few milliseconds reach them as one write each (platform/line-batch.ts). They are flushed
 * synchronously on shutdown ({@link LogSinks.flush}), so no accepted line is lost on a normal stop
 * (pino `docs/asynchronous.md`), and on any other exit that runs 'exit' listeners (an uncaught
 * exception), where a write still in flight may then land after the lines flushed. A log file that cannot be opened or written, or whose folder cannot be created
 * (permissions, disk full, a read-only or virtual file system), is dropped from the sinks and
 * reported once on stdout; the service keeps serving.
 *
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import sonicBoom, { type SonicBoom } from 'sonic-boom';
import { LineBatch } from './line-batch.js';

/** The log file's name inside `LOG_DIR`, as the replaced service named it. */
export const LOG_FILE_NAME = 'api_server.log';

export interface LogSinks {
  readonly logger: Logger;
  /** Absolute path of the log file, or `undefined` when file logging is off. */
  readonly filePath: string | undefined;
  /** Writes out everything buffered, synchronously. Call before the process exits. */
  flush(): void;
  /**
   * Writes `text` (whole lines) to the stdout sink alone, after the lines logged so far: how a
   * cluster primary passes on its workers' lines (process/cluster.ts).
   */
  writeStdout(text: string): void;
  /**
   * Writes out everything, including a write already in flight (which {@link flush} cannot wait
   * for, so `process.exit()` right after it can lose the last line), then closes the sinks.
   * Resolves within `timeoutMs`. Nothing may be logged afterwards: call it last before exiting.
   */
  end(timeoutMs?: number): Promise<void>;
}

export interface LoggerOptions {
  /** pino level name. */
  level: string;
  /** Folder for {@link LOG_FILE_NAME}; empty string: stdout only. */
  logDir: string;
  /** Where the console copy goes: a file descriptor (default 1, stdout). */
  stdoutFd?: number;
}

/**
 * Most bytes one write to a sink carries (sonic-boom `maxWrite`, 16 KiB by default): Linux's
 * default pipe capacity (pipe(7)). A sink has one write in flight and starts the next when it
 * completes, at most once per batch of lines; under load one batch can pass 16 KiB, and
 * with writes that small the backlog, held in memory, grew without end. Larger writes do not fit
 * in a stdout pipe at once, and sonic-boom converts the rest of a partly written string to bytes
 * again on each retry.
 */
const MAX_WRITE_BYTES = 64 * 1024;

/**
 * An asynchronous sink writing to `fd`. sonic-boom 5 itself rather than `pino.destination`, which
 * builds on sonic-boom 4: 4's `flushSync` retries every failed write every 100 ms without end, not
 * only EAGAIN, so a sink on a full disk or a closed descriptor hung the flush at start-up failures,
 * at shutdown and at exit, and with it the process. 5 throws what it cannot retry (caught in
 * `flush`); the lines of that sink are lost, the process goes on.
 */
function sink(fd: number): SonicBoom {
  return new sonicBoom.SonicBoom({ fd, sync: false, maxWrite: MAX_WRITE_BYTES });
}

/**
 * The `flush` of every logger not yet ended, run when the process exits: after an uncaught
 * exception, or a `process.exit()` that skipped the shutdown sequence, the lines still gathered
 * (platform/line-batch.ts) are written synchronously instead of lost ('exit' listeners may only
 * do synchronous work, Node `process` docs).
 */
const flushedOnExit = new Set<() => void>();
process.once('exit', () => {
  for (const flush of flushedOnExit) flush();
});

let lastMs = Number.NaN;
let lastTime = '';

/**
 * pino's `isoTime` (`,"time":"2026-01-01T00:00:00.000Z"`), formatted once per millisecond: under
 * load many lines share one, and `Date#toISOString` per line was ~3% of the server's CPU.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * Creates `dir` and any missing parents, one level at a time. Node 20's own recursive `mkdirSync`
 * (and `fs.promises.mkdir`) loops forever at full CPU where `mkdir` answers ENOENT although the
 * parent exists, as in `/proc`; here each level is tried at most twice, so such a folder fails at once.
 *
 * @throws the `mkdir` error (ENOENT, ENOTDIR, EACCES, EROFS…) when a level cannot be created.
 */
function makeDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeDirectory(parent);
    fs.mkdirSync(dir);
  }
}

/**
 * Creates the service logger. Lines carry ISO `time`, `level` as a label, `pid`, `hostname`, `msg`;
 * `authorization` and `cookie` headers are redacted wherever they appear under `req.headers`.
 */
export function createLogger({ level, logDir, stdoutFd = 1 }: LoggerOptions): LogSinks {
  const stdout = sink(stdoutFd);
  // A closed stdout (EPIPE) must not crash the server.
  stdout.on('error', () => {});
  let file: SonicBoom | undefined;
  const batch = new LineBatch(() => (file ? [stdout, file] : [stdout]));
  const logger = pino(
    {
      level,
      timestamp: isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
    },
    batch,
  );

  let filePath: string | undefined;
  if (logDir !== '') {
    filePath = path.resolve(logDir, LOG_FILE_NAME);
    let reported = false;
    const fileProblem = (err: unknown) => {
      // Dropped from the batch's sinks, whose every later write would fail and log again without end;
      // closed, so its descriptor and pending buffer don't keep the process alive.
      const broken = file;
      file = undefined;
      try {
        broken?.destroy();
      } catch {
        // already closed
      }
      // Said once: a broken stream may emit 'error' again (a later write, the final flush).
      if (reported) return;
      reported = true;
      logger.error({ err, path: filePath }, 'log file unwritable; logging to stdout only');
    };
    try {
      makeDirectory(path.dirname(filePath));
      // Opened here, synchronously: a destination given a path opens it asynchronously, and a
      // start-up failure logged and flushed before that open completes was lost from the file (and
      // pino's exit hook then threw "sonic boom is not ready yet"). With a descriptor the stream is
      // ready at once, and an unopenable file is reported below like an unwritable one.
      file = sink(fs.openSync(filePath, 'a'));
      file.on('error', fileProblem);
    } catch (err) {
      fileProblem(err);
    }
  }

  const flush = () => {
    batch.flush();
    for (const stream of [file, stdout]) {
      try {
        stream?.flushSync();
      } catch {
        // not open yet, or the disk refused: nothing more can be done synchronously
      }
    }
  };
  flushedOnExit.add(flush);
  return {
    logger,
    filePath,
    flush,
    writeStdout(text) {
      batch.flush();
      stdout.write(text);
    },
    async end(timeoutMs = 2000) {
      flushedOnExit.delete(flush);
      batch.flush();
      const ended = [file, stdout].map(
        (stream) =>
          new Promise<void>((resolve) => {
            if (!stream) return resolve();
            stream.once('close', () => resolve());
            stream.once('error', () => resolve());
            stream.end();
          }),
      );
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.all(ended), timeout]);
      clearTimeout(timer);
    },
  };
}
