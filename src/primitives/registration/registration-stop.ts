/**
 * The end of a registration: the drain (the instance marked unroutable, then a wait) and the
 * deregistration, each bounded by `stopTimeout` and never cancelled.
 *
 * @packageDocumentation
 */
import type { Logger } from 'pino';
import { NotFoundError } from '../../errors.js';
import type { CallOptions } from '../../transport/types.js';
import type { ResolvedRegistrationOptions } from './registration-options.js';
import type { DrainingEvent, RegistrationAgent, ReportFailure } from './registration-types.js';

/** @internal What drain and deregistration work with. */
export interface DeregistrationParts {
  readonly agent: RegistrationAgent;
  readonly logger: Logger;
  readonly serviceId: string;
  readonly checkId: string;
  /** Options of every call: bounded by stopTimeout, not cancelled. */
  readonly call: CallOptions;
  /** The drain to run first; undefined: deregister at once. */
  readonly drain: ResolvedRegistrationOptions['drain'];
  readonly report: ReportFailure;
  onDraining(event: DrainingEvent): void;
}

/**
 * Drains (when `parts.drain` is set), then deregisters. A service the agent no longer knows
 * is the wanted state, not a failure.
 *
 * @returns the failures, each already logged and reported; empty when all went well
 * @internal
 */
export async function drainAndDeregister(parts: DeregistrationParts): Promise<unknown[]> {
  const { agent, logger, serviceId, checkId, call, drain: plan } = parts;
  const errors: unknown[] = [];
  if (plan) {
    try {
      if (plan.mode === 'maintenance') {
        await agent.service.maintenance(serviceId, true, plan.note, call);
      } else {
        await agent.check.update(checkId, 'critical', plan.note, call);
      }
      logger.info({ serviceId, mode: plan.mode, delayMs: plan.delayMs }, 'consulkit: draining');
      parts.onDraining({ mode: plan.mode, delayMs: plan.delayMs });
      // Referenced on purpose: the drain must run to its end even if nothing else keeps the process alive.
      await new Promise((resolve) => setTimeout(resolve, plan.delayMs));
    } catch (error) {
      // Balancers would not see a drain that was never marked: deregister straight away.
      if (!(error instanceof NotFoundError)) {
        errors.push(error);
        parts.report(error, 'could not mark the service for drain', 'error');
      }
    }
  }
  try {
    await agent.service.deregister(serviceId, call);
  } catch (error) {
    // Already gone is the state stop() wants.
    if (!(error instanceof NotFoundError)) {
      errors.push(error);
      parts.report(error, 'deregistration failed', 'error');
    }
  }
  return errors;
}
