/**
 * The default logger: pino on stderr, with token redaction as a second line of defence (the
 * transport never passes the token to the logger in the first place).
 *
 * @packageDocumentation
 */
import { pino, type Logger } from 'pino';

/** Paths pino blanks out in every log line. */
export const REDACTED_PATHS: readonly string[] = Object.freeze([
  'token',
  '*.token',
  'headers["x-consul-token"]',
  '*.headers["x-consul-token"]',
  'config.token',
]);

/** Creates consulkit's default logger: level from `CONSULKIT_LOG_LEVEL` (default `warn`), on stderr. */
export function createDefaultLogger(env: Readonly<Record<string, string | undefined>> = process.env): Logger {
  return pino(
    { name: 'consulkit', level: env.CONSULKIT_LOG_LEVEL ?? 'warn', redact: [...REDACTED_PATHS] },
    // Synchronous stderr: no worker thread or flush handle that could keep the process alive.
    pino.destination({ dest: 2, sync: true }),
  );
}
