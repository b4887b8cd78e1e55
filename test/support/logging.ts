/**
 * A pino logger that keeps its lines in memory, so tests can check what reached the log.
 */
import { pino, type Level, type Logger } from 'pino';

/** One parsed log line (the fields tests look at). */
export interface LogLine {
  level: number;
  msg: string;
  err?: { type?: string; message?: string };
}

/** A logger at `level` and the lines it wrote, oldest first. */
export function memoryLogger(level: Level): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}
