/**
 * The functions' CloudWatch metrics, in embedded metric format through Powertools Metrics: a JSON line in the
 * function's log that CloudWatch turns into metrics, with no API call and nothing at init but a small object.
 * What each invocation's result or error means in metrics is decided here, in one place; {@link withMetrics}
 * publishes it after every invocation, failed ones included.
 */

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  COVERAGE_METRIC_NAMES,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  type MetricName,
  SKIP_REASON_DIMENSION,
} from './constants.ts';
import { AwsCallError, FindingImportError, NotificationError } from './errors.ts';

/** One value to publish; `reason` adds that dimension (skipped events, by why they were skipped). */
export interface MetricPoint {
  readonly name: MetricName;
  readonly value: number;
  readonly reason?: string;
}

/** What the detector returns, as far as metrics are concerned. */
export type DetectorOutcome =
  | { readonly status: 'skipped'; readonly reason: string }
  | {
      readonly status: 'evaluated';
      readonly verdict: string;
      readonly action: string;
      readonly findingImported: boolean;
    };

/** What the sweep returns (its summary), as far as metrics are concerned. */
export interface SweepOutcome {
  readonly violating: number;
  readonly deactivated: number;
  readonly findingsImported: number;
  /** Members found blind by the coverage check; absent when it did not run. */
  readonly membersBlind?: number | undefined;
}

/** What the sweep returns when it only queued the organization's accounts: nothing swept yet, nothing counted. */
export interface SweepPlanOutcome {
  readonly accountsQueued: number;
}

/** The outcome of one invocation: its result, or the error it threw. */
export type Invocation<R> = { readonly result: R } | { readonly error: unknown };

/** True when `error`, or an error in its `cause` chain, is a failed or rejected AWS call. */
export function isAwsError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 10; depth++) {
    if (
      current instanceof AwsCallError ||
      current instanceof FindingImportError ||
      current instanceof NotificationError
    ) {
      return true;
    }
    if (typeof current !== 'object' || current === null) return false;
    // Every SDK service exception carries `$metadata` (the HTTP status, request id and attempts).
    if ('$metadata' in current) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** The detector's metrics for one invocation. */
export function detectorMetricPoints(invocation: Invocation<DetectorOutcome>): MetricPoint[] {
  if ('error' in invocation) {
    return isAwsError(invocation.error) ? [{ name: METRIC_NAMES.awsErrors, value: 1 }] : [];
  }
  const { result } = invocation;
  if (result.status === 'skipped') {
    return [
      { name: METRIC_NAMES.eventsSkipped, value: 1 },
      { name: METRIC_NAMES.eventsSkipped, value: 1, reason: result.reason },
    ];
  }
  return [
    { name: METRIC_NAMES.eventsEvaluated, value: 1 },
    { name: METRIC_NAMES.violations, value: result.verdict === 'violation' ? 1 : 0 },
    { name: METRIC_NAMES.keysDeactivated, value: result.action === 'deactivated' ? 1 : 0 },
    { name: METRIC_NAMES.findingsImported, value: result.findingImported ? 1 : 0 },
  ];
}

/**
 * The sweep's metrics for one run. A failed run (SweepError) still reports its summary, and counts each failure
 * that was an AWS call.
 */
export function sweepMetricPoints(invocation: Invocation<SweepOutcome | SweepPlanOutcome>): MetricPoint[] {
  const counts = (summary: SweepOutcome, membersBlind = summary.membersBlind): MetricPoint[] => [
    { name: METRIC_NAMES.violations, value: summary.violating },
    { name: METRIC_NAMES.keysDeactivated, value: summary.deactivated },
    { name: METRIC_NAMES.findingsImported, value: summary.findingsImported },
    ...(membersBlind === undefined
      ? []
      : [{ name: COVERAGE_METRIC_NAMES.membersBlind, value: membersBlind }]),
  ];
  if ('result' in invocation) {
    return 'accountsQueued' in invocation.result ? [] : counts(invocation.result);
  }
  const { error } = invocation;
  const partial = error as
    | { summary?: SweepOutcome; failures?: readonly { error: unknown }[]; membersBlind?: number }
    | undefined;
  if (partial?.summary !== undefined && Array.isArray(partial.failures)) {
    const awsErrors = partial.failures.filter((failure) => isAwsError(failure.error)).length;
    return [
      ...counts(partial.summary, partial.membersBlind),
      { name: METRIC_NAMES.awsErrors, value: awsErrors },
    ];
  }
  return isAwsError(error) ? [{ name: METRIC_NAMES.awsErrors, value: 1 }] : [];
}

/** A Powertools Metrics instance for one function (`service` dimension = its name). */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

/** Adds `points` to `metrics` and publishes them: one EMF line, plus one per point with a `reason` dimension. */
export function publish(metrics: Metrics, points: readonly MetricPoint[]): void {
  for (const point of points) {
    if (point.reason === undefined) {
      metrics.addMetric(point.name, MetricUnit.Count, point.value);
    } else {
      metrics
        .singleMetric()
        .addDimension(SKIP_REASON_DIMENSION, point.reason)
        .addMetric(point.name, MetricUnit.Count, point.value);
    }
  }
  if (points.some((point) => point.reason === undefined)) metrics.publishStoredMetrics();
}

/**
 * Wraps a handler so that each invocation's metrics are published when it ends; the result is returned and the
 * error rethrown unchanged. Publishing never fails the invocation.
 */
export function withMetrics<A extends unknown[], R>(
  handler: (...args: A) => Promise<R>,
  toPoints: (invocation: Invocation<R>) => MetricPoint[],
  metrics: Metrics,
): (...args: A) => Promise<R> {
  const record = (invocation: Invocation<R>): void => {
    try {
      publish(metrics, toPoints(invocation));
    } catch {
      // A metric is not worth a retry of the work: the logs still hold every outcome.
    }
  };
  return async (...args: A): Promise<R> => {
    let result: R;
    try {
      result = await handler(...args);
    } catch (error) {
      record({ error });
      throw error;
    }
    record({ result });
    return result;
  };
}
