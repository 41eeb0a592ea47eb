import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { waitFor } from './wait.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RecordingLog {
  logger: Logger;
  lines: LogLine[];
  /**
   * Resolves with the first line matching `match` (already written or still to come), within
   * `timeoutMs`; `from`: only lines written at or after that index (`lines.length` = from now on).
   */
  until(match: (line: LogLine) => boolean, what: string, opts?: { timeoutMs?: number; from?: number }): Promise<LogLine>;
}

/** A pino logger whose lines (parsed) a test can read and wait for. */
export function recordingLogger(level: pino.Level = 'debug'): RecordingLog {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const logger = pino({ level }, stream);
  return {
    logger,
    lines,
    async until(match, what, opts = {}) {
      const from = opts.from ?? 0;
      const found = () => lines.find((line, i) => i >= from && match(line));
      await waitFor(() => found() !== undefined, what, {
        timeoutMs: opts.timeoutMs ?? 10_000,
        detail: () =>
          `last lines: ${lines
            .slice(-5)
            .map((l) => l.msg)
            .join(' | ')}`,
      });
      return found()!;
    },
  };
}
