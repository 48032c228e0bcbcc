import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  COVERAGE_METRIC_NAMES,
  METRIC_NAMES,
  METRIC_SERVICES,
  METRICS_NAMESPACE,
  type MetricName,
  SKIP_REASON_DIMENSION,
} from '../functions/shared/constants.ts';
import type { AccessKeyDetector } from './access-key-detector.ts';
import { SettingError } from './errors.ts';

/** Default {@link KeyWardenDashboardProps.period}. */
export const DEFAULT_DASHBOARD_PERIOD = Duration.minutes(5);

/** Properties of a {@link KeyWardenDashboard}. */
export interface KeyWardenDashboardProps {
  /** The detector whose metrics, queues and alarms the dashboard shows. */
  readonly detector: AccessKeyDetector;
  /**
   * Name of the dashboard.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * Period of every graph: a whole number of minutes.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/**
 * A CloudWatch dashboard of one {@link AccessKeyDetector}: events evaluated and skipped (by reason), violations,
 * deactivations and findings imported (KeyWarden's own metrics), AWS errors and function errors, the depth of
 * the two dead-letter queues, the functions' duration and throttles, and the state of every alarm.
 */
export class KeyWardenDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: KeyWardenDashboardProps) {
    super(scope, id);
    const period = props.period ?? DEFAULT_DASHBOARD_PERIOD;
    if (
      !Token.isUnresolved(period.toSeconds()) &&
      (period.toSeconds() < 60 || period.toSeconds() % 60 !== 0)
    ) {
      throw new SettingError(
        `period ${period.toHumanString()} is not allowed; use a whole number of minutes, e.g. Duration.minutes(5)`,
      );
    }
    const { detector } = props;
    const own = (name: MetricName, source: 'detector' | 'sweep', label: string) =>
      detector.metric(name, { source, period, label });
    const skippedByReason = new cloudwatch.MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},service,${SKIP_REASON_DIMENSION}} MetricName="${METRIC_NAMES.eventsSkipped}" service="${METRIC_SERVICES.detector}"', 'Sum', ${period.toSeconds()})`,
      label: '',
      period,
    });
    const queueDepth = (queue: sqs.IQueue, label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM, label });
    const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.IMetric): cloudwatch.IMetric[] => [
      metric(detector.detectorFunction),
      metric(detector.sweepFunction),
    ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName !== undefined ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.days(7),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Access-key events',
            left: [
              own(METRIC_NAMES.eventsEvaluated, 'detector', 'evaluated'),
              own(METRIC_NAMES.eventsSkipped, 'detector', 'skipped'),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Skipped events by reason',
            left: [skippedByReason],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Violations, deactivations, findings (detector)',
            left: [
              own(METRIC_NAMES.violations, 'detector', 'violations'),
              own(METRIC_NAMES.keysDeactivated, 'detector', 'keys deactivated'),
              own(METRIC_NAMES.findingsImported, 'detector', 'findings imported'),
            ],
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Sweep: violating users, deactivations, findings',
            left: [
              own(METRIC_NAMES.violations, 'sweep', 'violating users'),
              own(METRIC_NAMES.keysDeactivated, 'sweep', 'keys deactivated'),
              own(METRIC_NAMES.findingsImported, 'sweep', 'findings imported'),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'AWS errors and function errors',
            left: [
              own(METRIC_NAMES.awsErrors, 'detector', 'AWS errors (detector)'),
              own(METRIC_NAMES.awsErrors, 'sweep', 'AWS errors (sweep)'),
            ],
            right: perFunction((fn) => fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM })),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead-letter queues (messages)',
            left: [
              queueDepth(detector.eventDeadLetterQueue, 'undeliverable events'),
              queueDepth(detector.invocationFailureQueue, 'failed invocations'),
              queueDepth(detector.detectorDeadLetterQueue, 'events failed on every receive'),
            ],
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Duration (p99) and throttles',
            left: perFunction((fn) => fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99) })),
            right: perFunction((fn) => fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM })),
            width: 12,
          }),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...detector.alarms], width: 12 }),
        ],
        // Organization mode: members the sweep's coverage check found blind (forwarding rule, member role).
        ...(detector.sweepAccountQueue !== undefined
          ? [
              [
                new cloudwatch.GraphWidget({
                  title: 'Member accounts blind (sweep coverage check)',
                  left: [
                    detector.metric(COVERAGE_METRIC_NAMES.membersBlind, {
                      source: 'sweep',
                      period: Duration.hours(6),
                      label: 'members blind',
                    }),
                  ],
                  width: 24,
                }),
              ],
            ]
          : []),
      ],
    });
  }
}
