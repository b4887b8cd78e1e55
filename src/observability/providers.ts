/**
 * Where a client's metrics and spans go: the providers given in its options, or the global
 * ones. Resolving them is kept off the request path: a hook reads a field (and, for a
 * tracer behind a proxy, asks the proxy whether it has a delegate yet), never the global
 * registry, which costs a few hundred nanoseconds per read.
 *
 * - The API's own no-ops (its no-op meter, a `ProxyTracerProvider` with no delegate) are
 *   recognised and treated as "nothing records", so they cost what no provider costs.
 * - Global providers registered after the client was created are picked up: a tracer from
 *   the API's global proxy delegates as soon as a provider is set, and the globals are read
 *   again every {@link GLOBAL_PROVIDER_CHECK_MS} (metrics have no proxy in the API), on an
 *   unreferenced timer that stops with the client.
 *
 * @packageDocumentation
 */
import {
  createNoopMeter,
  diag,
  metrics,
  ProxyTracerProvider,
  trace,
  type MeterProvider,
  type ObservableCallback,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { createInstruments, type Instruments } from './instruments.js';
import { INSTRUMENTATION_SCOPE } from './names.js';

/** The version consulkit reports as its instrumentation scope version. */
export const INSTRUMENTATION_VERSION = '0.1.0';

/** How often the global providers are read again when the options named none. */
export const GLOBAL_PROVIDER_CHECK_MS = 1000;

// The API's no-op singletons are not exported; these give their identity or class.
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_TRACER_CLASS = NOOP_TRACER_PROVIDER.getTracer(INSTRUMENTATION_SCOPE).constructor;
const NOOP_METER_CLASS = createNoopMeter().constructor;

/** The observable instruments, which take callbacks that must follow a change of provider. */
export type ObservableName =
  'connections' | 'watchLoops' | 'watchFailing' | 'heartbeatAge' | 'balancerInstances';

/** The instruments of `provider`, or `undefined` when it is the API's no-op. */
function instrumentsOf(provider: MeterProvider): Instruments | undefined {
  const meter = provider.getMeter(INSTRUMENTATION_SCOPE, INSTRUMENTATION_VERSION);
  return meter instanceof NOOP_METER_CLASS ? undefined : createInstruments(meter);
}

/** A tracer, and the proxy it depends on when it came from one. */
class TracerSource {
  readonly #tracer: Tracer | undefined;
  readonly #proxy: ProxyTracerProvider | undefined;

  constructor(provider: TracerProvider) {
    this.#proxy = provider instanceof ProxyTracerProvider ? provider : undefined;
    const tracer =
      provider === NOOP_TRACER_PROVIDER
        ? undefined
        : provider.getTracer(INSTRUMENTATION_SCOPE, INSTRUMENTATION_VERSION);
    this.#tracer = tracer instanceof NOOP_TRACER_CLASS ? undefined : tracer;
  }

  /** The tracer to use now, or `undefined` when its spans would go nowhere. */
  current(): Tracer | undefined {
    const tracer = this.#tracer;
    if (tracer === undefined || this.#proxy === undefined) return tracer;
    // A proxy's tracer is a no-op until the proxy gets a delegate, and then follows it.
    return this.#proxy.getDelegate() === NOOP_TRACER_PROVIDER ? undefined : tracer;
  }
}

/** The providers of one client, the instruments made from them, and the observable callbacks. */
export class Providers {
  readonly #meterFromGlobal: boolean;
  readonly #tracerFromGlobal: boolean;
  #meterProvider: MeterProvider;
  #instruments: Instruments | undefined;
  #tracer: TracerSource;
  /** The tracer provider last read (the one in use, unless it failed). */
  #tracerProvider: TracerProvider;
  /** Every observable callback, by the instrument it reports on, to move to new instruments. */
  readonly #callbacks = new Map<ObservableCallback, ObservableName>();
  #timer: NodeJS.Timeout | undefined;

  /** Uses the providers given, and the global ones for those not given. */
  constructor(meterProvider: MeterProvider | undefined, tracerProvider: TracerProvider | undefined) {
    this.#meterFromGlobal = meterProvider === undefined;
    this.#tracerFromGlobal = tracerProvider === undefined;
    this.#meterProvider = meterProvider ?? metrics.getMeterProvider();
    this.#instruments = instrumentsOf(this.#meterProvider);
    this.#tracerProvider = tracerProvider ?? trace.getTracerProvider();
    this.#tracer = new TracerSource(this.#tracerProvider);
    if (this.#meterFromGlobal || this.#tracerFromGlobal) {
      // Held weakly: a client dropped without close() must not be kept alive by its timer.
      const self = new WeakRef(this);
      const timer = setInterval(() => {
        const providers = self.deref();
        if (providers === undefined) clearInterval(timer);
        else providers.refresh();
      }, GLOBAL_PROVIDER_CHECK_MS);
      timer.unref();
      this.#timer = timer;
    }
  }

  /** The instruments to record on now; `undefined` when nothing records metrics. */
  get instruments(): Instruments | undefined {
    return this.#instruments;
  }

  /** The tracer to start spans with now; `undefined` when nothing records spans. */
  tracer(): Tracer | undefined {
    return this.#tracer.current();
  }

  /**
   * Reads the global providers again and switches to those that changed. Called by the
   * timer; a failure of the new provider is reported on OpenTelemetry's `diag` logger (the
   * place OpenTelemetry reports instrumentation failures) and the old one stays in use.
   */
  refresh(): void {
    if (this.#meterFromGlobal) {
      const provider = metrics.getMeterProvider();
      if (provider !== this.#meterProvider) {
        // Taken first, so that a provider that fails is reported once, not every second.
        this.#meterProvider = provider;
        this.#use('meter', () => this.#switchInstruments(instrumentsOf(provider)));
      }
    }
    if (this.#tracerFromGlobal) {
      const provider = trace.getTracerProvider();
      if (provider !== this.#tracerProvider) {
        this.#tracerProvider = provider;
        this.#use('tracer', () => (this.#tracer = new TracerSource(provider)));
      }
    }
  }

  /** Reports `callback` on the observable `name`, now and on any instruments that replace these. */
  observe(name: ObservableName, callback: ObservableCallback): void {
    this.#callbacks.set(callback, name);
    this.#instruments?.[name].addCallback(callback);
  }

  /** Stops reporting `callback`. */
  unobserve(callback: ObservableCallback): void {
    const name = this.#callbacks.get(callback);
    if (name === undefined) return;
    this.#callbacks.delete(callback);
    this.#instruments?.[name].removeCallback(callback);
  }

  /**
   * Stops every observable callback and the global check, so that a provider that outlives
   * the client neither keeps it in memory nor reports it any more. Idempotent.
   */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const [callback, name] of this.#callbacks) this.#instruments?.[name].removeCallback(callback);
    this.#callbacks.clear();
  }

  #use(what: string, adopt: () => unknown): void {
    try {
      adopt();
    } catch (error) {
      diag.error(`consulkit: could not use the global OpenTelemetry ${what} provider`, error);
    }
  }

  #switchInstruments(instruments: Instruments | undefined): void {
    const previous = this.#instruments;
    for (const [callback, name] of this.#callbacks) {
      previous?.[name].removeCallback(callback);
      instruments?.[name].addCallback(callback);
    }
    this.#instruments = instruments;
  }
}
