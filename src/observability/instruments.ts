/**
 * The OpenTelemetry instruments of one client, created once from its meter so that recording
 * never looks anything up.
 *
 * @packageDocumentation
 */
import type {
  Counter,
  Histogram,
  Meter,
  ObservableGauge,
  ObservableUpDownCounter,
  UpDownCounter,
} from '@opentelemetry/api';
import { METRICS } from './names.js';

/** Bucket boundaries (s) the HTTP semantic conventions advise for request durations. */
const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Locks are waited for and held far longer than a request lasts: up to an hour. */
const LONG_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** Every instrument consulkit records on. */
export interface Instruments {
  readonly requestDuration: Histogram;
  readonly requests: Counter;
  readonly retries: Counter;
  readonly connections: ObservableUpDownCounter;
  readonly watchLoops: ObservableUpDownCounter;
  readonly watchFailing: ObservableUpDownCounter;
  readonly watchReads: Counter;
  readonly watchErrors: Counter;
  readonly watchDelivery: Histogram;
  readonly lockAcquireDuration: Histogram;
  readonly lockHoldDuration: Histogram;
  readonly lockLosses: Counter;
  readonly lockHolders: UpDownCounter;
  readonly electionTerms: Counter;
  readonly electionLeadership: Histogram;
  readonly registrations: Counter;
  readonly heartbeatFailures: Counter;
  readonly heartbeatAge: ObservableGauge;
  readonly balancerCalls: Counter;
  readonly balancerEjections: Counter;
  readonly balancerInstances: ObservableGauge;
}

/** Creates every instrument on `meter`. */
export function createInstruments(meter: Meter): Instruments {
  const seconds = (name: string, description: string, buckets: number[]): Histogram =>
    meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: buckets } });
  return {
    requestDuration: seconds(
      METRICS.requestDuration,
      'Duration of HTTP requests to Consul.',
      HTTP_DURATION_BUCKETS,
    ),
    requests: meter.createCounter(METRICS.requests, {
      unit: '{request}',
      description: 'Requests to Consul by endpoint group, method and outcome.',
    }),
    retries: meter.createCounter(METRICS.retries, {
      unit: '{retry}',
      description: 'Retries of idempotent requests after a transient failure.',
    }),
    connections: meter.createObservableUpDownCounter(METRICS.connections, {
      unit: '{connection}',
      description: 'Connections open to the Consul agent, per pool.',
    }),
    watchLoops: meter.createObservableUpDownCounter(METRICS.watchLoops, {
      unit: '{loop}',
      description: 'Blocking loops running (one per distinct watched query).',
    }),
    watchFailing: meter.createObservableUpDownCounter(METRICS.watchFailing, {
      unit: '{loop}',
      description: 'Blocking loops whose last read failed and that are retrying.',
    }),
    watchReads: meter.createCounter(METRICS.watchReads, {
      unit: '{read}',
      description: 'Reads sent by watch loops.',
    }),
    watchErrors: meter.createCounter(METRICS.watchErrors, {
      unit: '{error}',
      description: 'Failed watch reads by kind and error type.',
    }),
    watchDelivery: seconds(
      METRICS.watchDelivery,
      'Time a watch loop took to hand a changed answer to every watch of it (their change listeners included); not the time since the write.',
      HTTP_DURATION_BUCKETS,
    ),
    lockAcquireDuration: seconds(
      METRICS.lockAcquireDuration,
      'Time from acquire() to its outcome.',
      LONG_DURATION_BUCKETS,
    ),
    lockHoldDuration: seconds(
      METRICS.lockHoldDuration,
      'How long a lock or slot was held.',
      LONG_DURATION_BUCKETS,
    ),
    lockLosses: meter.createCounter(METRICS.lockLosses, {
      unit: '{loss}',
      description: 'Locks and semaphore slots lost while held.',
    }),
    lockHolders: meter.createUpDownCounter(METRICS.lockHolders, {
      unit: '{holder}',
      description: 'Locks and semaphore slots this process holds, per key.',
    }),
    electionTerms: meter.createCounter(METRICS.electionTerms, {
      unit: '{term}',
      description: 'Leadership terms won, lost and resigned.',
    }),
    electionLeadership: seconds(
      METRICS.electionLeadership,
      'How long each leadership term lasted.',
      LONG_DURATION_BUCKETS,
    ),
    registrations: meter.createCounter(METRICS.registrations, {
      unit: '{registration}',
      description: 'Service registrations with the agent, by reason.',
    }),
    heartbeatFailures: meter.createCounter(METRICS.heartbeatFailures, {
      unit: '{failure}',
      description: 'Heartbeats and re-registrations that failed.',
    }),
    heartbeatAge: meter.createObservableGauge(METRICS.heartbeatAge, {
      unit: 's',
      description: 'Time since the last heartbeat the agent accepted.',
    }),
    balancerCalls: meter.createCounter(METRICS.balancerCalls, {
      unit: '{call}',
      description: 'Balancer attempts by instance and outcome.',
    }),
    balancerEjections: meter.createCounter(METRICS.balancerEjections, {
      unit: '{ejection}',
      description: 'Instances taken out of rotation by outlier detection.',
    }),
    balancerInstances: meter.createObservableGauge(METRICS.balancerInstances, {
      unit: '{instance}',
      description: 'Instances a balancer can pick now.',
    }),
  };
}
