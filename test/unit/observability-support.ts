/**
 * In-memory OpenTelemetry SDK for the observability tests: a meter provider whose metrics are
 * collected on demand, and a tracer provider that keeps finished spans.
 */
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import type { Attributes } from '@opentelemetry/api';

/** A reader that exports nothing by itself; tests call {@link MemoryReader.metrics}. */
class MemoryReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Meter and tracer providers backed by memory. */
export class MemoryTelemetry {
  readonly reader: MemoryReader;
  readonly meterProvider: MeterProvider;
  readonly spans = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.spans)],
  });

  /**
   * @param temporality - `cumulative` (the SDK's default: every series seen so far, on each
   *   collection) or `delta` (only what was recorded or observed since the last collection)
   */
  constructor(temporality: 'cumulative' | 'delta' = 'cumulative') {
    const chosen = temporality === 'delta' ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    this.reader = new MemoryReader({ aggregationTemporalitySelector: () => chosen });
    this.meterProvider = new MeterProvider({ readers: [this.reader] });
  }

  /** Every metric collected now, by name. */
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    return byName;
  }

  /** Data points of metric `name` whose attributes include `match`. */
  async points(name: string, match: Attributes = {}): Promise<DataPoint<unknown>[]> {
    const metric = (await this.metrics()).get(name);
    if (metric === undefined) return [];
    const points = metric.dataPoints as DataPoint<unknown>[];
    return points.filter((point) =>
      Object.entries(match).every(([key, value]) => point.attributes[key] === value),
    );
  }

  /** Sum of a counter's (or up-down counter's, or gauge's) points matching `match`. */
  async sum(name: string, match: Attributes = {}): Promise<number> {
    let total = 0;
    for (const point of await this.points(name, match)) total += point.value as number;
    return total;
  }

  /** Recorded values of a histogram's points matching `match`: their count and sum. */
  async histogram(name: string, match: Attributes = {}): Promise<{ count: number; sum: number }> {
    const metric = (await this.metrics()).get(name);
    if (metric === undefined) return { count: 0, sum: 0 };
    if (metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    let count = 0;
    let sum = 0;
    for (const point of await this.points(name, match)) {
      const value = point.value as Histogram;
      count += value.count;
      sum += value.sum ?? 0;
    }
    return { count, sum };
  }

  /** Finished spans. */
  finishedSpans(): ReadableSpan[] {
    return this.spans.getFinishedSpans();
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.meterProvider.shutdown(), this.tracerProvider.shutdown()]);
  }
}
