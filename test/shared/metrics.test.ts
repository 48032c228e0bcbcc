import { ServiceFailureException } from '@aws-sdk/client-iam';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { METRIC_NAMES, METRIC_SERVICES, METRICS_NAMESPACE } from '../../functions/shared/constants.ts';
import {
  AwsCallError,
  ConfigError,
  FindingImportError,
  InvalidEventError,
} from '../../functions/shared/errors.ts';
import {
  createMetrics,
  type DetectorOutcome,
  detectorMetricPoints,
  isAwsError,
  type MetricPoint,
  sweepMetricPoints,
  withMetrics,
} from '../../functions/shared/metrics.ts';

const sdkError = () =>
  new ServiceFailureException({ message: 'internal', $metadata: { httpStatusCode: 500 } });
const awsCall = () => new AwsCallError('iam.ListAccessKeys', 'Throttling', 'Rate exceeded');

const evaluated = (overrides: Partial<Extract<DetectorOutcome, { status: 'evaluated' }>> = {}) => ({
  status: 'evaluated' as const,
  verdict: 'compliant',
  action: 'none',
  findingImported: false,
  ...overrides,
});

const counts = (evaluatedEvents: number, violations: number, deactivated: number, imported: number) => [
  { name: METRIC_NAMES.eventsEvaluated, value: evaluatedEvents },
  { name: METRIC_NAMES.violations, value: violations },
  { name: METRIC_NAMES.keysDeactivated, value: deactivated },
  { name: METRIC_NAMES.findingsImported, value: imported },
];

describe('isAwsError', () => {
  it.each([
    ['an SDK service exception', sdkError(), true],
    ['a failed AWS call', awsCall(), true],
    [
      'Security Hub rejecting findings',
      new FindingImportError([{ id: 'f', code: 'InvalidInput', message: 'x' }]),
      true,
    ],
    ['an error caused by an SDK exception', new Error('wrapped', { cause: sdkError() }), true],
    ['an invalid event', new InvalidEventError('no detail'), false],
    ['a configuration error', new ConfigError('REMEDIATION_MODE=x'), false],
    ['a TypeError', new TypeError('x is undefined'), false],
    ['a string', 'boom', false],
    ['undefined', undefined, false],
  ])('is %s → %s', (_name, error, expected) => {
    expect(isAwsError(error)).toBe(expected);
  });
});

describe('detectorMetricPoints', () => {
  it.each<[string, Parameters<typeof detectorMetricPoints>[0], MetricPoint[]]>([
    [
      'a skipped event counts as skipped, in total and by reason',
      { result: { status: 'skipped', reason: 'own-remediation' } },
      [
        { name: METRIC_NAMES.eventsSkipped, value: 1 },
        { name: METRIC_NAMES.eventsSkipped, value: 1, reason: 'own-remediation' },
      ],
    ],
    [
      'a compliant user with no finding counts as evaluated only',
      { result: evaluated() },
      counts(1, 0, 0, 0),
    ],
    [
      'a compliant user whose open finding was resolved counts the import',
      { result: evaluated({ findingImported: true }) },
      counts(1, 0, 0, 1),
    ],
    [
      'a violation reported counts the violation and the import',
      { result: evaluated({ verdict: 'violation', findingImported: true }) },
      counts(1, 1, 0, 1),
    ],
    [
      'a violation remediated also counts the deactivation',
      { result: evaluated({ verdict: 'violation', action: 'deactivated', findingImported: true }) },
      counts(1, 1, 1, 1),
    ],
    [
      'an exempt user is not a violation',
      { result: evaluated({ verdict: 'exempt', findingImported: true }) },
      counts(1, 0, 0, 1),
    ],
    [
      'a failed AWS call counts as an AWS error',
      { error: awsCall() },
      [{ name: METRIC_NAMES.awsErrors, value: 1 }],
    ],
    ['a failure that is not AWS counts nothing', { error: new InvalidEventError('bad') }, []],
  ])('%s', (_name, invocation, expected) => {
    expect(detectorMetricPoints(invocation)).toEqual(expected);
  });
});

describe('sweepMetricPoints', () => {
  const summary = { violating: 3, deactivated: 1, findingsImported: 5 };
  const sweepCounts = [
    { name: METRIC_NAMES.violations, value: 3 },
    { name: METRIC_NAMES.keysDeactivated, value: 1 },
    { name: METRIC_NAMES.findingsImported, value: 5 },
  ];

  it.each<[string, Parameters<typeof sweepMetricPoints>[0], MetricPoint[]]>([
    ['a complete sweep reports its summary', { result: summary }, sweepCounts],
    [
      'an incomplete sweep reports its summary and the failures that were AWS calls',
      {
        error: Object.assign(new Error('sweep incomplete'), {
          summary,
          failures: [{ error: sdkError() }, { error: new TypeError('x') }, { error: awsCall() }],
        }),
      },
      [...sweepCounts, { name: METRIC_NAMES.awsErrors, value: 2 }],
    ],
    [
      'a sweep that could not start on AWS counts one AWS error',
      { error: awsCall() },
      [{ name: METRIC_NAMES.awsErrors, value: 1 }],
    ],
    ['a sweep rejected for its event counts nothing', { error: new InvalidEventError('sweepSource') }, []],
  ])('%s', (_name, invocation, expected) => {
    expect(sweepMetricPoints(invocation)).toEqual(expected);
  });
});

describe('withMetrics', () => {
  let stdout: MockInstance<typeof process.stdout.write>;
  const emitted = (): {
    _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    [key: string]: unknown;
  }[] =>
    stdout.mock.calls
      .map(([chunk]) => String(chunk))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));

  beforeEach(() => {
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    stdout.mockRestore();
  });

  it('publishes one EMF record per invocation, plus one per skip reason, and returns the result', async () => {
    const handler = withMetrics(
      async (reason: string): Promise<DetectorOutcome> => ({ status: 'skipped', reason }),
      detectorMetricPoints,
      createMetrics(METRIC_SERVICES.detector),
    );

    const result = await handler('failed-call');

    expect(result).toEqual({ status: 'skipped', reason: 'failed-call' });
    const records = emitted();
    expect(records).toHaveLength(2);
    const byReason = records.find((record) => record.reason === 'failed-call');
    const total = records.find((record) => record.reason === undefined);
    expect(byReason?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [expect.arrayContaining(['service', 'reason'])],
      Metrics: [{ Name: METRIC_NAMES.eventsSkipped }],
    });
    expect(total).toMatchObject({ service: METRIC_SERVICES.detector, [METRIC_NAMES.eventsSkipped]: 1 });
    expect(total?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
  });

  it('publishes the AWS error and rethrows the same error when the handler fails', async () => {
    const failure = awsCall();
    const handler = withMetrics(
      async (): Promise<DetectorOutcome> => {
        throw failure;
      },
      detectorMetricPoints,
      createMetrics(METRIC_SERVICES.detector),
    );

    await expect(handler()).rejects.toBe(failure);
    expect(emitted()).toEqual([expect.objectContaining({ [METRIC_NAMES.awsErrors]: 1 })]);
  });

  it('returns the result when the metrics cannot be computed', async () => {
    const handler = withMetrics(
      async () => 'done',
      () => {
        throw new Error('no metrics');
      },
      createMetrics(METRIC_SERVICES.detector),
    );

    await expect(handler()).resolves.toBe('done');
    expect(emitted()).toEqual([]);
  });
});

describe('the detector module', () => {
  it('exports a handler that publishes its metrics', async () => {
    // Prepare: the module builds its clients when it loads (no AWS call), so the environment is set first.
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      vi.resetModules();
      const module = await import('../../functions/detector/handler.ts');
      const outOfScope = {
        source: 'aws.iam',
        account: '123456789012',
        'detail-type': 'AWS API Call via CloudTrail',
        detail: { eventSource: 'iam.amazonaws.com', eventName: 'ListUsers', eventID: 'e-1' },
      };

      // Act
      const result = await module.handler(outOfScope, {
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:keywarden-detector',
      });

      // Assess
      expect(result).toMatchObject({ status: 'skipped', reason: 'event-out-of-scope' });
      const records = stdout.mock.calls
        .map(([chunk]) => String(chunk))
        .filter((line) => line.includes('"CloudWatchMetrics"'))
        .map((line) => JSON.parse(line));
      expect(records).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            service: 'keywarden-detector',
            EventsSkipped: 1,
            reason: 'event-out-of-scope',
          }),
          expect.objectContaining({ service: 'keywarden-detector', EventsSkipped: 1 }),
        ]),
      );
      expect(records).toHaveLength(2);
    } finally {
      stdout.mockRestore();
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});
