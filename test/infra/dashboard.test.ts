import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COVERAGE_METRIC_NAMES,
  METRIC_NAMES,
  METRIC_SERVICES,
  METRICS_NAMESPACE,
} from '../../functions/shared/constants.ts';
import { AccessKeyDetector } from '../../infra/access-key-detector.ts';
import { KeyWardenDashboard } from '../../infra/dashboard.ts';
import { KeyWardenStack } from '../../infra/keywarden-stack.ts';
import { removeTestApps, testApp } from './synth.ts';

interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title?: string;
    readonly metrics?: unknown[][];
    readonly alarms?: string[];
  };
}

/** The dashboard body with each CloudFormation token replaced by a readable placeholder, parsed. */
function dashboardWidgets(template: Template): Widget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : `TOKEN(${JSON.stringify(part).replaceAll('"', "'")})`))
    .join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

/** `[namespace, name, dimension, value, …]` of every metric on the dashboard, without rendering options. */
function metricsOf(widgets: Widget[]): string[] {
  return widgets.flatMap((widget) =>
    (widget.properties.metrics ?? []).map((metric) =>
      metric.filter((part) => typeof part === 'string' && part !== '.').join(' '),
    ),
  );
}

let stack: KeyWardenStack;
let widgets: Widget[];

beforeAll(() => {
  stack = new KeyWardenStack(testApp(), 'KeyWarden', { env: { region: 'us-east-1' } });
  widgets = dashboardWidgets(Template.fromStack(stack));
});
afterAll(removeTestApps);

describe('KeyWardenDashboard', () => {
  it('graphs every KeyWarden metric of the detector, and the sweep’s results and AWS errors', () => {
    const metrics = metricsOf(widgets);
    const own = (name: string, source: keyof typeof METRIC_SERVICES) =>
      `${METRICS_NAMESPACE} ${name} service ${METRIC_SERVICES[source]}`;

    expect(metrics).toEqual(
      expect.arrayContaining([
        ...Object.values(METRIC_NAMES).map((name) => own(name, 'detector')),
        own(METRIC_NAMES.violations, 'sweep'),
        own(METRIC_NAMES.keysDeactivated, 'sweep'),
        own(METRIC_NAMES.findingsImported, 'sweep'),
        own(METRIC_NAMES.awsErrors, 'sweep'),
      ]),
    );
  });

  it('graphs MembersBlind of the sweep in organization mode only, and alarms on it', () => {
    // Prepare
    const organization = new KeyWardenStack(testApp(), 'KeyWardenOrg', {
      env: { region: 'us-east-1' },
      detector: {
        organization: {
          organizationId: 'o-a1b2c3d4e5',
          memberRoleName: 'KeyWardenMember',
          memberAccountIds: ['111122223333'],
        },
      },
    });
    const blind = `${METRICS_NAMESPACE} ${COVERAGE_METRIC_NAMES.membersBlind} service ${METRIC_SERVICES.sweep}`;

    // Act
    const organizationWidgets = dashboardWidgets(Template.fromStack(organization));

    // Assess
    expect(metricsOf(organizationWidgets)).toContain(blind);
    expect(metricsOf(widgets)).not.toContain(blind);
    const alarms = organizationWidgets.flatMap((widget) => widget.properties.alarms ?? []);
    expect(alarms).toHaveLength(organization.detector.alarms.length);
    Template.fromStack(organization).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: COVERAGE_METRIC_NAMES.membersBlind,
      Dimensions: [{ Name: 'service', Value: METRIC_SERVICES.sweep }],
    });
  });

  it('graphs skipped events by reason with a search over the reason dimension', () => {
    const expressions = widgets.flatMap((widget) =>
      (widget.properties.metrics ?? []).flatMap((metric) =>
        metric.flatMap((part) =>
          typeof part === 'object' && part !== null && 'expression' in part ? [String(part.expression)] : [],
        ),
      ),
    );

    expect(expressions).toEqual([
      `SEARCH('{KeyWarden,service,reason} MetricName="EventsSkipped" service="keywarden-detector"', 'Sum', 300)`,
    ]);
  });

  it('shows the depth of the three dead-letter queues and the state of every alarm of the detector', () => {
    const metrics = metricsOf(widgets);
    const queueMetrics = metrics.filter((metric) =>
      metric.startsWith('AWS/SQS ApproximateNumberOfMessagesVisible'),
    );
    expect(queueMetrics).toHaveLength(3);

    const alarms = widgets.flatMap((widget) => widget.properties.alarms ?? []);
    expect(alarms).toHaveLength(stack.detector.alarms.length);
    expect(stack.detector.alarms).toHaveLength(7);
  });

  it('graphs errors, duration and throttles of both functions', () => {
    const lambdaMetrics = metricsOf(widgets).filter((metric) => metric.startsWith('AWS/Lambda'));

    expect(lambdaMetrics.map((metric) => metric.split(' ')[1]).sort()).toEqual([
      'Duration',
      'Duration',
      'Errors',
      'Errors',
      'Throttles',
      'Throttles',
    ]);
  });

  it('is left out when createDashboard is false', () => {
    const without = new KeyWardenStack(testApp(), 'KeyWarden', {
      env: { region: 'us-east-1' },
      createDashboard: false,
    });

    Template.fromStack(without).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(without.dashboard).toBeUndefined();
    expect(stack.dashboard).toBeInstanceOf(KeyWardenDashboard);
  });

  it.each([
    [Duration.seconds(90), 'period 1 minute 30 seconds is not allowed; use a whole number of minutes'],
    [Duration.seconds(30), 'period 30 seconds is not allowed; use a whole number of minutes'],
  ])('rejects a period of %s, naming it', (period, message) => {
    const scope = new Stack(testApp(), 'Bad');
    const detector = new AccessKeyDetector(scope, 'Detector');

    expect(() => new KeyWardenDashboard(scope, 'Dashboard', { detector, period })).toThrow(message);
  });

  it('accepts a period of whole minutes and a name', () => {
    const scope = new Stack(testApp(), 'Named');
    const detector = new AccessKeyDetector(scope, 'Detector');
    new KeyWardenDashboard(scope, 'Dashboard', {
      detector,
      period: Duration.hours(1),
      dashboardName: 'KeyWarden',
    });

    Template.fromStack(scope).hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'KeyWarden',
    });
  });
});

describe('AccessKeyDetector metric helpers', () => {
  it('give the metric the functions publish, summed over 5 minutes, for the detector unless asked', () => {
    const scope = new Stack(testApp(), 'Helpers');
    const detector = new AccessKeyDetector(scope, 'Detector');

    const violations = detector.metricViolations();
    const sweepDeactivations = detector.metricKeysDeactivated({ source: 'sweep', period: Duration.hours(1) });

    expect([
      violations.namespace,
      violations.metricName,
      violations.dimensions,
      violations.statistic,
    ]).toEqual(['KeyWarden', 'Violations', { service: 'keywarden-detector' }, 'Sum']);
    expect(violations.period.toMinutes()).toBe(5);
    expect([sweepDeactivations.metricName, sweepDeactivations.dimensions]).toEqual([
      'KeysDeactivated',
      { service: 'keywarden-sweep' },
    ]);
    expect(sweepDeactivations.period.toMinutes()).toBe(60);
    expect(
      [
        detector.metricEventsEvaluated(),
        detector.metricEventsSkipped(),
        detector.metricFindingsImported(),
        detector.metricAwsErrors(),
      ].map((metric) => metric.metricName),
    ).toEqual(['EventsEvaluated', 'EventsSkipped', 'FindingsImported', 'AwsErrors']);
  });

  it('make alarms of your own on KeyWarden metrics', () => {
    const scope = new Stack(testApp(), 'OwnAlarm');
    const detector = new AccessKeyDetector(scope, 'Detector');
    detector.metricViolations().createAlarm(scope, 'AnyViolation', { threshold: 1, evaluationPeriods: 1 });

    Template.fromStack(scope).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'KeyWarden',
      MetricName: 'Violations',
      Dimensions: [{ Name: 'service', Value: 'keywarden-detector' }],
      Statistic: 'Sum',
      Period: 300,
    });
  });
});
