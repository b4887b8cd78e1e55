/**
 * The flags of the commands that hold a session while a child command runs (`lock`,
 * `leader`): the session's TTL, lock-delay and fast failover, and how the child is stopped
 * and fed.
 *
 * @packageDocumentation
 */
import { FAST_FAILOVER, type SessionOptions } from '../index.js';

/** `consul lock`'s grace period between SIGTERM and SIGKILL (its `lockKillGracePeriod`). */
export const DEFAULT_GRACE = '5s';

/** Flags shared by `lock` and `leader`, added to each command's own. */
export const SESSION_CHILD_OPTIONS = {
  'fast-failover': { type: 'boolean' },
  ttl: { type: 'string' },
  'lock-delay': { type: 'string' },
  grace: { type: 'string' },
  'pass-stdin': { type: 'boolean' },
} as const;

/** Help lines of the session flags and `--grace` (every command words `--fast-failover` its own way). */
export const SESSION_CHILD_HELP = `  --ttl DUR            session TTL, 10s to 24h (default 15s)
  --lock-delay DUR     session lock-delay, 0 to 60s (default 15s)
  --grace DUR          time between SIGTERM and SIGKILL when stopping the command (default 5s)`;

/** Values of the session flags after parsing. */
export interface SessionFlagValues {
  'fast-failover'?: boolean | undefined;
  ttl?: string | undefined;
  'lock-delay'?: string | undefined;
}

/**
 * Applies `--fast-failover`, then `--ttl` and `--lock-delay` to `options`: explicit values
 * win over the fast-failover preset. The values are checked when the primitive is built.
 */
export function applySessionFlags(options: SessionOptions, values: SessionFlagValues): void {
  if (values['fast-failover']) Object.assign(options, FAST_FAILOVER);
  if (values.ttl !== undefined) options.ttl = values.ttl;
  if (values['lock-delay'] !== undefined) options.lockDelay = values['lock-delay'];
}
