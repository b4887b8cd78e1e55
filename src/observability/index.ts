/**
 * Observability: OpenTelemetry metrics and spans, `node:diagnostics_channel` events and the
 * health report. The names are the public contract; the facade is internal.
 *
 * @packageDocumentation
 */
export { ATTRIBUTES, CHANNELS, INSTRUMENTATION_SCOPE, METRICS } from './names.js';
export type {
  ElectionMessage,
  LockMessage,
  RegistrationMessage,
  RequestMessage,
  WatchErrorMessage,
} from './channels.js';
export type { ObservabilityOptions } from './telemetry.js';
export type {
  AgentHealth,
  FailingWatchHealth,
  ClientHealthReport,
  ClientHealthReportOptions,
  HeldHealth,
  RegistrationHealth,
} from './health-report.js';
