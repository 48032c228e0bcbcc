import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import {
  CLOUDTRAIL_LOOKUP_DAYS,
  COVERAGE_METRIC_NAMES,
  DEFAULTS,
  ENV,
  IAM_EVENT_REGION,
  KEEP_KEY_STRATEGIES,
  type KeepKeyStrategy,
  MAX_EXEMPTION_DAYS_LIMIT,
  MAX_IN_USE_HOURS,
  MAX_ROTATION_GRACE_HOURS,
  MAX_TRUSTED_KEY_ISSUERS,
  METRIC_NAMES,
  METRIC_SERVICES,
  METRICS_NAMESPACE,
  type MetricName,
  principalArnPatternProblem,
  REMEDIATION_MODES,
  type RemediationMode,
  SWEEP_SOURCES,
  type SweepSource,
  TAG_KEY_PATTERN,
  wholeNumberRange,
} from '../functions/shared/constants.ts';
import { DetectorQueue, validateDetectorConcurrency } from './detector-queue.ts';
import { reportedSetting, SettingError } from './errors.ts';
import { keyEventPattern } from './event-pattern.ts';
import {
  AlarmedDeadLetterQueue,
  createAlarmTopic,
  subscribeAlarmEmail,
  validateAlarmEmail,
} from './monitoring.ts';
import { validateOrganizationalUnit } from './organization-settings.ts';
import {
  acknowledgeMemberRoleWildcard,
  acknowledgeWildcards,
  canaryTagStatement,
  canaryUser,
  type FunctionKind,
  type OrganizationAccess,
  organizationStatements,
  policyStatements,
} from './permissions.ts';
import { SweepAccountQueue, validateMemberSweepConcurrency } from './sweep-account-queue.ts';

/**
 * Where this module runs from. In this repository it is TypeScript (infra/access-key-detector.ts) and the
 * functions are bundled from source at synth; in the npm package it is compiled
 * (lib/infra/access-key-detector.js) and the functions are the bundles built at pack time, so a consumer's
 * synth needs no esbuild, Docker, lock file or build script.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const PACKAGE_ROOT = fileURLToPath(new URL(FROM_SOURCE ? '..' : '../..', import.meta.url));

/** The project's esbuild script, shared with `npm run build` and the benchmark (source builds only). */
const BUILD_SCRIPT = path.join(PACKAGE_ROOT, 'scripts', 'build.mjs');

/** Where the package keeps each function's prebuilt bundle (scripts/package.mjs writes it). */
export const PREBUILT_CODE_DIR = path.join(PACKAGE_ROOT, 'lib', 'lambda');

/**
 * Same text as ESM_REQUIRE_BANNER in scripts/build.mjs (a test compares them): infra does not import the build
 * script, whose top-level await would stop a CommonJS app from loading the package.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __keywardenCreateRequire } from 'node:module'; const require = __keywardenCreateRequire(import.meta.url);";

/** The detector's and the sweep's entry points (the only files of functions/ that infra names). */
export const ENTRY_POINTS: Readonly<Record<FunctionKind, string>> = {
  detector: path.join(PACKAGE_ROOT, 'functions', 'detector', 'handler.ts'),
  sweep: path.join(PACKAGE_ROOT, 'functions', 'sweep', 'handler.ts'),
};

/**
 * Default sweep schedule. The credential report regenerates at most every 4 hours, so sweeping more often mostly
 * re-reads the same report; every 6 hours bounds how long a violation whose event was lost goes unseen to about
 * 10 hours (6 h + a report up to 4 h old), re-imports open findings far inside Security Hub's 90-day expiry, and
 * costs 120 short invocations a month.
 */
export const DEFAULT_SWEEP_SCHEDULE = 'rate(6 hours)';

/** Default `logRetention`: one year, the usual audit retention for a record of remediation actions. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

// Detector memory from `npm run bench` on Lambda's CPU model (docs/performance.md): an invocation gets
// memory ÷ 1,769 MB of a vCPU, and most key events meet a cold function. At 512 MB the modeled cold path (init
// at a full vCPU plus the first event) is about 300 ms against about 390 ms at 256 MB, warm events take half as
// long, and a million cold events cost about $2 instead of $1.50; above 512 MB each doubling buys half as much.
// The peak RSS is about 93 MiB. The 2-minute timeout covers the worst case the SDK settings allow: one call
// exhausting 4 attempts of up to 13 s each (connect 3 s + request 10 s) with back-off, plus IAM consistency
// re-reads (under 2 s) and the other calls.
const DETECTOR_MEMORY_MB = 512;
const DETECTOR_TIMEOUT = Duration.minutes(2);
// The sweep of 10,000 users peaked at 274 MiB (credential report, 2.2 s; full listing, 33 s against moto, which
// never throttles). 512 MB leaves room and buys proportionally more CPU; the timeout is the most Lambda allows,
// for a full listing throttled by IAM (one ListAccessKeys per user, no published rate limits).
const SWEEP_MEMORY_MB = 512;
const SWEEP_TIMEOUT = Duration.minutes(15);

// EventBridge -> Lambda delivery: keep retrying for the whole day EventBridge allows, because the function
// re-reads live IAM state and an event that arrives late is still worth handling; then the dead-letter queue.
const DELIVERY_RETRY_ATTEMPTS = 185;
const DELIVERY_MAX_EVENT_AGE = Duration.hours(24);
// Lambda asynchronous invocation: the service's own bounds, stated explicitly; then the on-failure queue.
const INVOKE_RETRY_ATTEMPTS = 2;
const INVOKE_MAX_EVENT_AGE = Duration.hours(6);

/** Properties of an {@link AccessKeyDetector}. */
export interface AccessKeyDetectorProps {
  /**
   * What to do about a user with more than one active key: `off` reports a finding only, `dry-run` also logs the
   * key it would deactivate, `deactivate` deactivates it. Only `deactivate` grants `iam:UpdateAccessKey`.
   * @default 'off'
   */
  readonly remediationMode?: RemediationMode;
  /**
   * Which active key survives remediation: `newest`, `oldest` or `last-used`.
   * @default 'newest'
   */
  readonly keepKey?: KeepKeyStrategy;
  /**
   * IAM tag key that exempts a user from the control: its value `true`, or an ISO 8601 end no more than
   * `maxExemptionDays` away (see `exemptionApprovers` for who may set it).
   * @default 'keywarden:exempt'
   */
  readonly exemptTag?: string;
  /**
   * Hours a rotation may keep two active keys before remediation (the finding is still reported at once).
   * A whole number from 0 to 2160 (90 days).
   * @default 0
   */
  readonly rotationGraceHours?: number;
  /**
   * Hours a key's last use (GetAccessKeyLastUsed) keeps it from being switched off: a key used within them is in use,
   * and remediation leaves it on (`KEY_IN_USE`, `BOTH_KEYS_IN_USE`) until it has been idle that long, except a key
   * another principal made usable under `keepKey: 'auto'`. A whole number from 0 (no such protection) to 2160.
   * @default 24
   */
  readonly inUseHours?: number;
  /**
   * ARN patterns of the principals that hand out access keys legitimately, such as a provisioning or CI role:
   * `arn:aws:iam::123456789012:role/provisioning`, `arn:aws:sts::123456789012:assumed-role/ci-deployer/*`. Matched
   * as IAM's ArnLike does (part by part; `*` and `?` within one colon-separated part, case-sensitive) against the
   * caller's ARN and, for a role session, its role's ARN. Each must be an IAM or STS ARN with an empty region; name
   * the account rather than `*`, since a same-named role can be created in any account. A key another principal
   * creates or re-activates raises a HIGH threat finding unless the caller matches. At most 50.
   * @default - none: every principal but the key's own user raises a threat finding
   */
  readonly trustedKeyIssuers?: readonly string[];
  /**
   * ARN patterns (matched as IAM's ArnLike, like `trustedKeyIssuers`) of the principals whose exemption tag is
   * honoured, e.g. `arn:aws:iam::123456789012:role/security-admin`. When set, an exemption is honoured only when the
   * TagUser event, or CloudTrail LookupEvents, proves that a matching principal set the tag to its current value; an
   * exemption set by anyone else raises a HIGH finding naming them, and `true` lasts `maxExemptionDays` from when it
   * was set (both functions hold `cloudtrail:LookupEvents` for usage evidence already). Not available with
   * `organization`. At most 50.
   * @default - none: an exemption is honoured whoever set it, and `true` exempts for good
   */
  readonly exemptionApprovers?: readonly string[];
  /**
   * Days an exemption may last from when it was set: a later end exempts nobody. Without approvers the set time is
   * unknown and the end is measured from now. A whole number from 1 to 365; with `exemptionApprovers`, to 90 (the
   * days CloudTrail LookupEvents reaches back).
   * @default 90
   */
  readonly maxExemptionDays?: number;
  /**
   * Event bus that receives a KeyWarden event for every violation and remediation.
   * @default - no notification events; no `events:PutEvents` permission
   */
  readonly notificationEventBus?: events.IEventBus;
  /**
   * Topic the alarms notify.
   * @default - a new TLS-only topic
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * E-mail address subscribed to the alarm topic (the recipient must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * How long the functions' logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Create a multi-region CloudTrail trail recording management write events, with its own bucket. Only for
   * accounts with no trail: without one, no IAM event reaches EventBridge; with one already, a second trail
   * costs $2 per 100,000 events.
   * @default false
   */
  readonly createTrail?: boolean;
  /**
   * The end-to-end canary: a canary user (no credentials, no policies, no console) that each sweep tags, and a
   * small DynamoDB table where the sweep records each send and the detector each arrival; an account whose canary
   * never arrives gets a FAILED coverage finding. `false` leaves all three out.
   * @default true
   */
  readonly canary?: boolean;
  /**
   * When the account sweep runs.
   * @default events.Schedule.expression('rate(6 hours)')
   */
  readonly sweepSchedule?: events.Schedule;
  /**
   * Where the sweep finds candidate users: `credential-report` (a few calls plus one check per violator) or
   * `full` (a live listing, one call per user).
   * @default 'credential-report'
   */
  readonly sweepSource?: SweepSource;
  /**
   * Organization mode: events of member accounts (forwarded to a bus this construct's rule does not watch; see
   * `OrganizationEventBus` and `KeyWardenCentralStack`) are handled inside each member through its member role,
   * and the sweep covers this account and every member: with `organizationRoleArn`, the ACTIVE accounts under
   * `memberOus` (nested OUs included; the StackSet's targets) plus the management account, else every ACTIVE
   * account of the organization, only those of `memberAccountIds` when it is set; without it, `memberAccountIds`
   * as given (one of the two is required). The schedule queues one message per account on an account queue, and
   * the sweep sweeps each account from there.
   * @default - single account: another account's event is skipped, the sweep covers this account only
   */
  readonly organization?: OrganizationAccess & {
    readonly memberAccountIds?: readonly string[];
    /** The OUs (or the root) the member stacks are deployed to: the sweep's members are their accounts. */
    readonly memberOus?: readonly string[];
  };
  /**
   * Organization mode: at most this many accounts are swept at once from the account queue (2 to 1000). Each
   * member's IAM and Security Hub limits are its own; the sweeps share this account's Lambda concurrency.
   * @default 10
   */
  readonly memberSweepConcurrency?: number;
  /**
   * At most this many detector invocations at once drain the detector's queue (2 to 1000). Security Hub's rate
   * limits are per account and region, shared with other tools: raise it only with their headroom in mind.
   * @default 2
   */
  readonly detectorConcurrency?: number;
  /**
   * Whether IAM's events reach this construct's region although it is not us-east-1 (a rule there forwards
   * them, as the IamEventForwarderStack does). Without it, a stack in another region of the `aws` partition
   * gets a synth error, since the rule would never fire.
   * @default false
   */
  readonly eventsForwarded?: boolean;
}

/** Options of {@link AccessKeyDetector.metric}: CloudWatch's, plus which function's metric. */
export interface KeyWardenMetricOptions extends cloudwatch.MetricOptions {
  /**
   * The function whose metric it is: the detector counts per event, the sweep per run.
   * @default 'detector'
   */
  readonly source?: FunctionKind;
}

/**
 * Watches IAM access-key events and sweeps the account on a schedule for users with more than one active
 * access key (CIS AWS Foundations Benchmark 1.13), reporting to Security Hub and optionally deactivating keys.
 *
 * The rule lives on the default event bus of this construct's region, which must receive IAM's CloudTrail events
 * (us-east-1, or a region they are forwarded to). Nothing is dropped silently: undeliverable events and failed
 * invocations go to encrypted queues that raise an alarm.
 */
export class AccessKeyDetector extends Construct {
  /** Handles each access-key event. */
  readonly detectorFunction: lambda.Function;
  /** Sweeps the whole account on {@link AccessKeyDetectorProps.sweepSchedule}. */
  readonly sweepFunction: lambda.Function;
  /** Matches successful `CreateAccessKey`, `UpdateAccessKey` and `DeleteAccessKey` calls on the default bus. */
  readonly rule: events.Rule;
  /** Invokes the sweep. */
  readonly sweepRule: events.Rule;
  /** Events EventBridge could not deliver to either function (the rule targets' dead-letter queue). */
  readonly eventDeadLetterQueue: sqs.IQueue;
  /** Invocations that still failed after Lambda's retries (the functions' on-failure destination). */
  readonly invocationFailureQueue: sqs.IQueue;
  /** Key events on their way to the detector: the rule's target, drained with bounded concurrency. */
  readonly detectorQueue: sqs.IQueue;
  /** Key events the detector failed to handle on every receive from {@link detectorQueue}. */
  readonly detectorDeadLetterQueue: sqs.IQueue;
  /** Organization mode: the accounts a scheduled sweep queued, one message each, drained by the sweep. */
  readonly sweepAccountQueue?: sqs.IQueue;
  /** Organization mode: accounts the sweep failed on every receive from {@link sweepAccountQueue}. */
  readonly sweepAccountDeadLetterQueue?: sqs.IQueue;
  /** Topic the alarms notify. */
  readonly alarmTopic: sns.ITopic;
  /** Every alarm: each queue's depth, and each function's errors and throttles. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** The canary table, unless {@link AccessKeyDetectorProps.canary} is false. */
  readonly canaryTable?: dynamodb.Table;
  /** The canary user the sweep tags, unless {@link AccessKeyDetectorProps.canary} is false. */
  readonly canaryUser?: iam.User;
  /** The trail, when {@link AccessKeyDetectorProps.createTrail} is set. */
  readonly trail?: cloudtrail.Trail;

  constructor(scope: Construct, id: string, props: AccessKeyDetectorProps = {}) {
    super(scope, id);
    // A bad prop is a synth error of this construct (one line from `cdk synth`); the default stands in for it.
    let settingsValid = true;
    const settings = reportedSetting(
      this,
      () => resolveSettings(props),
      () => {
        settingsValid = false;
        return resolveSettings({});
      },
    );
    const organizationValid = reportedSetting(
      this,
      () => {
        validateOrganization(props);
        return true;
      },
      () => false,
    );
    const memberSweepConcurrency = organizationValid ? props.memberSweepConcurrency : undefined;
    const detectorConcurrency = reportedSetting(
      this,
      () => {
        if (props.detectorConcurrency !== undefined) validateDetectorConcurrency(props.detectorConcurrency);
        return props.detectorConcurrency;
      },
      () => undefined,
    );
    guardEventRegion(this, props.eventsForwarded ?? false);

    this.alarmTopic = props.alarmTopic ?? createAlarmTopic(this, 'AlarmTopic');
    // resolveSettings checked the address; after a reported error it may be the bad one.
    subscribeAlarmEmail(this.alarmTopic, settingsValid ? props.alarmEmail : undefined);
    const eventDlq = new AlarmedDeadLetterQueue(this, 'EventDeadLetterQueue', {
      purpose:
        'the queue of events (IAM key events, sweep schedules) EventBridge could not deliver to KeyWarden',
      alarmTopic: this.alarmTopic,
    });
    const failureQueue = new AlarmedDeadLetterQueue(this, 'InvocationFailureQueue', {
      purpose: 'the queue of KeyWarden invocations that failed after retries',
      alarmTopic: this.alarmTopic,
    });
    this.eventDeadLetterQueue = eventDlq.queue;
    this.invocationFailureQueue = failureQueue.queue;

    const environment: Record<string, string> = {
      [ENV.remediationMode]: settings.remediationMode,
      [ENV.keepKey]: settings.keepKey,
      [ENV.exemptTag]: settings.exemptTag,
      [ENV.rotationGraceHours]: String(settings.rotationGraceHours),
      NODE_OPTIONS: '--enable-source-maps',
      // Unset: the functions' default (24).
      ...(settings.inUseHours !== undefined ? { [ENV.inUseHours]: String(settings.inUseHours) } : {}),
      ...(settings.exemptionApprovers.length > 0
        ? { [ENV.exemptionApprovers]: settings.exemptionApprovers.join(',') }
        : {}),
      ...(settings.maxExemptionDays !== undefined
        ? { [ENV.maxExemptionDays]: String(settings.maxExemptionDays) }
        : {}),
    };
    if (props.notificationEventBus !== undefined) {
      // The ARN rather than the name, so a bus in another account works too.
      environment[ENV.eventBusName] = props.notificationEventBus.eventBusArn;
    }
    Object.assign(environment, organizationEnvironment(props.organization));

    const failureDestination = new destinations.SqsDestination(failureQueue.queue);
    this.detectorFunction = this.createFunction('Detector', {
      kind: 'detector',
      description: 'KeyWarden: checks the user of each IAM access-key event (CIS 1.13)',
      memorySize: DETECTOR_MEMORY_MB,
      timeout: DETECTOR_TIMEOUT,
      // Only events name a caller: the sweep has nothing to match the patterns against.
      environment:
        settings.trustedKeyIssuers.length === 0
          ? environment
          : { ...environment, [ENV.trustedKeyIssuers]: settings.trustedKeyIssuers.join(',') },
      settings,
      notificationEventBus: props.notificationEventBus,
      organization: props.organization,
      onFailure: failureDestination,
    });
    this.sweepFunction = this.createFunction('Sweep', {
      kind: 'sweep',
      description: 'KeyWarden: sweeps every IAM user for more than one active access key (CIS 1.13)',
      memorySize: SWEEP_MEMORY_MB,
      timeout: SWEEP_TIMEOUT,
      environment: {
        ...environment,
        [ENV.sweepSource]: settings.sweepSource,
        // Only the sweep lists the organization's accounts.
        ...(props.organization?.organizationRoleArn
          ? { [ENV.organizationRoleArn]: props.organization.organizationRoleArn }
          : {}),
        ...(props.organization?.memberOus?.length
          ? { [ENV.memberOus]: props.organization.memberOus.join(',') }
          : {}),
      },
      settings,
      notificationEventBus: props.notificationEventBus,
      organization: props.organization,
      onFailure: failureDestination,
    });
    // Both functions' roles: KeyWarden recognises its own calls in CloudTrail by the role behind the session, never
    // by the user agent (which any client can set).
    const ownRoleArns = Fn.join(
      ',',
      [this.detectorFunction, this.sweepFunction].map((fn) => roleArnOf(fn)),
    );
    this.detectorFunction.addEnvironment(ENV.ownRoleArns, ownRoleArns);
    this.sweepFunction.addEnvironment(ENV.ownRoleArns, ownRoleArns);
    if (props.canary ?? true) {
      const canary = this.createCanary();
      this.canaryTable = canary.table;
      this.canaryUser = canary.user;
    }

    const delivery: targets.LambdaFunctionProps = {
      deadLetterQueue: eventDlq.queue,
      retryAttempts: DELIVERY_RETRY_ATTEMPTS,
      maxEventAge: DELIVERY_MAX_EVENT_AGE,
    };
    this.rule = new events.Rule(this, 'KeyEventRule', {
      description: 'KeyWarden: successful IAM CreateAccessKey, UpdateAccessKey and DeleteAccessKey calls',
      eventPattern: keyEventPattern(),
    });
    // Through a queue rather than straight to the function: a burst (a bulk rotation) waits there and is drained
    // at a bounded concurrency, instead of hitting Security Hub's per-account rate limits all at once.
    const detectorQueue = new DetectorQueue(this, 'DetectorQueue', {
      detector: this.detectorFunction,
      detectorTimeout: DETECTOR_TIMEOUT,
      alarmTopic: this.alarmTopic,
      ...(detectorConcurrency !== undefined ? { maxConcurrency: detectorConcurrency } : {}),
    });
    this.detectorQueue = detectorQueue.queue;
    this.detectorDeadLetterQueue = detectorQueue.deadLetterQueue;
    this.rule.addTarget(
      new targets.SqsQueue(detectorQueue.queue, {
        deadLetterQueue: eventDlq.queue,
        retryAttempts: DELIVERY_RETRY_ATTEMPTS,
        maxEventAge: DELIVERY_MAX_EVENT_AGE,
      }),
    );
    this.sweepRule = new events.Rule(this, 'SweepSchedule', {
      description: 'KeyWarden: runs the account sweep',
      schedule: settings.sweepSchedule,
    });
    this.sweepRule.addTarget(new targets.LambdaFunction(this.sweepFunction, delivery));

    let accountQueue: SweepAccountQueue | undefined;
    if (props.organization !== undefined) {
      // One account per message: 1,000 accounts do not fit one 15-minute invocation, and each gets its own
      // retries and failure record.
      accountQueue = new SweepAccountQueue(this, 'SweepAccountQueue', {
        sweep: this.sweepFunction,
        sweepTimeout: SWEEP_TIMEOUT,
        alarmTopic: this.alarmTopic,
        ...(memberSweepConcurrency !== undefined ? { maxConcurrency: memberSweepConcurrency } : {}),
      });
      this.sweepFunction.addEnvironment(ENV.sweepQueueUrl, accountQueue.queue.queueUrl);
      this.sweepAccountQueue = accountQueue.queue;
      this.sweepAccountDeadLetterQueue = accountQueue.deadLetterQueue;
    }

    this.alarms = [
      eventDlq.alarm,
      failureQueue.alarm,
      detectorQueue.alarm,
      ...(accountQueue ? [accountQueue.alarm, this.membersBlindAlarm()] : []),
      ...this.functionAlarms('Detector', this.detectorFunction),
      ...this.functionAlarms('Sweep', this.sweepFunction),
    ];

    if (settings.createTrail) {
      this.trail = this.createTrail();
    }
  }

  /**
   * One of KeyWarden's own metrics (namespace `KeyWarden`, dimension `service`), as the functions publish it in
   * embedded metric format: a sum over 5 minutes unless `options` say otherwise.
   */
  metric(metricName: MetricName, options: KeyWardenMetricOptions = {}): cloudwatch.Metric {
    const { source = 'detector', ...metricOptions } = options;
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: METRIC_SERVICES[source] },
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.SUM,
      ...metricOptions,
    });
  }

  /** Users found with more than one active key: per event (detector), or at each run (sweep). */
  metricViolations(options?: KeyWardenMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.violations, options);
  }

  /** Access keys KeyWarden deactivated. */
  metricKeysDeactivated(options?: KeyWardenMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.keysDeactivated, options);
  }

  /** Findings imported into Security Hub. */
  metricFindingsImported(options?: KeyWardenMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.findingsImported, options);
  }

  /** Access-key events the detector evaluated. */
  metricEventsEvaluated(options?: KeyWardenMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.eventsEvaluated, options);
  }

  /** Events the detector skipped (each also counted with a `reason` dimension). */
  metricEventsSkipped(options?: KeyWardenMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.eventsSkipped, options);
  }

  /** Invocations (detector) or failed steps (sweep) whose failure was an AWS call. */
  metricAwsErrors(options?: KeyWardenMetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.awsErrors, options);
  }

  private createFunction(
    id: string,
    options: {
      kind: FunctionKind;
      description: string;
      memorySize: number;
      timeout: Duration;
      environment: Record<string, string>;
      settings: Settings;
      notificationEventBus: events.IEventBus | undefined;
      organization: OrganizationAccess | undefined;
      onFailure: lambda.IDestination;
    },
  ): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: options.settings.logRetention,
      // The logs record which keys were deactivated and why: keep them after the stack is deleted.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: options.description,
    });
    logGroup.grantWrite(role);
    for (const statement of policyStatements(this, options.kind, options.settings.remediationMode)) {
      role.addToPolicy(statement);
    }
    options.notificationEventBus?.grantPutEventsTo(role);
    acknowledgeWildcards(role, options.kind);
    // Both reach members: the detector for a member's event, the sweep for every member (and, with
    // organizationRoleArn, the management account's reader role to list them).
    if (options.organization !== undefined) {
      for (const statement of organizationStatements(this, options.kind, options.organization)) {
        role.addToPolicy(statement);
      }
      acknowledgeMemberRoleWildcard(role, options.organization.memberRoleName);
    }

    const functionProps = {
      description: options.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: options.timeout,
      role,
      logGroup,
      environment: options.environment,
      retryAttempts: INVOKE_RETRY_ATTEMPTS,
      maxEventAge: INVOKE_MAX_EVENT_AGE,
      onFailure: options.onFailure,
    };
    if (!FROM_SOURCE) {
      return new lambda.Function(this, `${id}Function`, {
        ...functionProps,
        handler: 'index.handler',
        code: lambda.Code.fromAsset(prebuiltCode(options.kind)),
      });
    }
    return new nodejs.NodejsFunction(this, `${id}Function`, {
      ...functionProps,
      entry: ENTRY_POINTS[options.kind],
      handler: 'handler',
      projectRoot: PACKAGE_ROOT,
      depsLockFilePath: path.join(PACKAGE_ROOT, 'package-lock.json'),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        // Pin the SDK this project tested against instead of whatever minor the runtime ships.
        bundleAwsSDK: true,
        mainFields: ['module', 'main'],
        // Lets bundled CommonJS dependencies call require() from the ESM bundle.
        banner: ESM_REQUIRE_BANNER,
        // These machines have no Docker; esbuild is a local devDependency.
        forceDockerBundling: false,
        // NodejsFunction cannot split a bundle (it passes esbuild --outfile). The project's build, with the same
        // settings plus splitting, then replaces the one file: what the function never runs on Lambda (STS, the
        // credential providers other than the environment's) stays in chunks that are never loaded.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) => [
            `node ${JSON.stringify(BUILD_SCRIPT)} --entry ${JSON.stringify(ENTRY_POINTS[options.kind])} --outdir ${JSON.stringify(outputDir)}`,
          ],
        },
      },
    });
  }

  /**
   * The canary's user and table: the sweep may tag that user with the canary tag only, and read and write the
   * table; the detector may only record an arrival there.
   */
  private createCanary(): { table: dynamodb.Table; user: iam.User } {
    const table = new dynamodb.Table(this, 'CanaryTable', {
      partitionKey: { name: 'accountId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // One small item per account, rebuilt by the next sweep.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const user = canaryUser(this, 'CanaryUser');
    this.sweepFunction.role?.addToPrincipalPolicy(canaryTagStatement(user));
    this.sweepFunction.role?.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CanaryRecords',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [table.tableArn],
      }),
    );
    this.detectorFunction.role?.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CanaryArrivals',
        actions: ['dynamodb:UpdateItem'],
        resources: [table.tableArn],
      }),
    );
    for (const fn of [this.detectorFunction, this.sweepFunction]) {
      fn.addEnvironment(ENV.canaryTableName, table.tableName);
    }
    return { table, user };
  }

  /** Organization mode: a member the sweep's coverage check found blind (its events no longer reach the detector). */
  private membersBlindAlarm(): cloudwatch.Alarm {
    const alarm = this.metric(COVERAGE_METRIC_NAMES.membersBlind, {
      source: 'sweep',
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.hours(1),
    }).createAlarm(this, 'MembersBlind', {
      alarmDescription:
        'KeyWarden: the sweep found member accounts whose IAM events do not reach the detector (see their coverage findings).',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
    return alarm;
  }

  private functionAlarms(id: string, fn: lambda.IFunction): cloudwatch.Alarm[] {
    const action = new cloudwatchActions.SnsAction(this.alarmTopic);
    const alarms = [
      fn
        .metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })
        .createAlarm(this, `${id}Errors`, {
          alarmDescription: `KeyWarden: the ${id.toLowerCase()} function failed (Lambda retries it, then records it in the invocation failure queue).`,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      fn
        .metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })
        .createAlarm(this, `${id}Throttles`, {
          alarmDescription: `KeyWarden: the ${id.toLowerCase()} function was throttled (account concurrency exhausted?).`,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
    ];
    for (const alarm of alarms) alarm.addAlarmAction(action);
    return alarms;
  }

  private createTrail(): cloudtrail.Trail {
    const bucket = new s3.Bucket(this, 'TrailBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Audit logs outlive the stack; delete the bucket by hand if you really want them gone.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds CloudTrail logs only; its writes are CloudTrail deliveries, which log file validation (digest files) already makes tamper-evident. Access logs would need a second bucket.',
    });
    return new cloudtrail.Trail(this, 'Trail', {
      bucket,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      managementEvents: cloudtrail.ReadWriteType.WRITE_ONLY,
      enableFileValidation: true,
    });
  }
}

/**
 * Organization props the functions would refuse at cold start, refused at synth: a sweep that cannot tell its
 * members (neither `memberAccountIds` nor `organizationRoleArn`), and a member concurrency without members.
 */
function validateOrganization(props: AccessKeyDetectorProps): void {
  const { organization, memberSweepConcurrency } = props;
  if (memberSweepConcurrency !== undefined) {
    if (organization === undefined) {
      throw new SettingError('memberSweepConcurrency is set but organization is not; set both, or neither');
    }
    validateMemberSweepConcurrency(memberSweepConcurrency);
  }
  if (organization === undefined) return;
  organization.memberOus?.forEach((ou, index) => {
    validateOrganizationalUnit(`memberOus[${index}]`, ou);
  });
  if (!organization.memberAccountIds?.length && organization.organizationRoleArn === undefined) {
    throw new SettingError(
      `organization needs memberAccountIds or organizationRoleArn: the sweep lists the member accounts from one of them (the function's own credentials are given no organizations: action); e.g. organizationRoleArn: 'arn:aws:iam::<management account>:role/KeyWardenOrganizationReader'`,
    );
  }
}

/** Both functions' organization-mode variables; none in single-account mode. */
function organizationEnvironment(
  organization: AccessKeyDetectorProps['organization'],
): Record<string, string> {
  if (organization === undefined) return {};
  return {
    [ENV.memberRoleName]: organization.memberRoleName,
    ...(organization.memberAccountIds?.length
      ? { [ENV.memberAccountIds]: organization.memberAccountIds.join(',') }
      : {}),
  };
}

/** The directory of a function's prebuilt bundle; throws, naming it, when the package was built without it. */
function prebuiltCode(kind: FunctionKind): string {
  const directory = path.join(PREBUILT_CODE_DIR, kind);
  if (!existsSync(path.join(directory, 'index.mjs'))) {
    throw new Error(
      `KeyWarden's prebuilt ${kind} code is missing (${directory}/index.mjs): this copy of the package was not built with \`npm run build:package\` (npm pack runs it)`,
    );
  }
  return directory;
}

function roleArnOf(fn: lambda.IFunction): string {
  if (fn.role === undefined) throw new Error(`${fn.node.path} has no execution role`);
  return fn.role.roleArn;
}

interface Settings {
  readonly remediationMode: RemediationMode;
  readonly keepKey: KeepKeyStrategy;
  readonly exemptTag: string;
  readonly rotationGraceHours: number;
  readonly inUseHours: number | undefined;
  readonly logRetention: logs.RetentionDays;
  readonly createTrail: boolean;
  readonly sweepSchedule: events.Schedule;
  readonly sweepSource: SweepSource;
  readonly trustedKeyIssuers: readonly string[];
  readonly exemptionApprovers: readonly string[];
  readonly maxExemptionDays: number | undefined;
}

const RETENTION_VALUES = new Set<number>(
  Object.values(logs.RetentionDays).filter((value): value is number => typeof value === 'number'),
);

/** Applies the defaults and validates every prop, naming the bad value and what is allowed. */
function resolveSettings(props: AccessKeyDetectorProps): Settings {
  const remediationMode = oneOf(
    'remediationMode',
    props.remediationMode,
    REMEDIATION_MODES,
    DEFAULTS.remediationMode,
  );
  const keepKey = oneOf('keepKey', props.keepKey, KEEP_KEY_STRATEGIES, DEFAULTS.keepKey);
  const sweepSource = oneOf('sweepSource', props.sweepSource, SWEEP_SOURCES, DEFAULTS.sweepSource);

  const exemptTag = props.exemptTag ?? DEFAULTS.exemptTag;
  if (
    !Token.isUnresolved(exemptTag) &&
    (!TAG_KEY_PATTERN.test(exemptTag) || exemptTag.toLowerCase().startsWith('aws:'))
  ) {
    throw new SettingError(
      `exemptTag ${JSON.stringify(exemptTag)} is not an IAM tag key; use 1-128 letters, digits, spaces and _.:/=+-@, not starting with aws:`,
    );
  }

  const rotationGraceHours = props.rotationGraceHours ?? DEFAULTS.rotationGraceHours;
  if (
    !Token.isUnresolved(rotationGraceHours) &&
    !(
      Number.isInteger(rotationGraceHours) &&
      rotationGraceHours >= 0 &&
      rotationGraceHours <= MAX_ROTATION_GRACE_HOURS
    )
  ) {
    // The same rule as ROTATION_GRACE_HOURS at cold start, so what synthesizes also starts.
    throw new SettingError(
      `rotationGraceHours ${rotationGraceHours} is not allowed; use ${wholeNumberRange(0, MAX_ROTATION_GRACE_HOURS)} (hours)`,
    );
  }

  const inUseHours = props.inUseHours;
  if (
    inUseHours !== undefined &&
    !Token.isUnresolved(inUseHours) &&
    !(Number.isInteger(inUseHours) && inUseHours >= 0 && inUseHours <= MAX_IN_USE_HOURS)
  ) {
    // The same rule as IN_USE_HOURS at cold start, so what synthesizes also starts.
    throw new SettingError(
      `inUseHours ${inUseHours} is not allowed; use ${wholeNumberRange(0, MAX_IN_USE_HOURS)} (hours)`,
    );
  }

  const logRetention = props.logRetention ?? DEFAULT_LOG_RETENTION;
  if (!RETENTION_VALUES.has(logRetention)) {
    throw new SettingError(
      `logRetention ${logRetention} is not a CloudWatch Logs retention; use one of: ${[...RETENTION_VALUES].join(', ')} (days)`,
    );
  }

  const sweepSchedule = props.sweepSchedule ?? events.Schedule.expression(DEFAULT_SWEEP_SCHEDULE);
  const expression = sweepSchedule.expressionString;
  const scheduleProblem = Token.isUnresolved(expression) ? undefined : invalidSchedule(expression);
  if (scheduleProblem !== undefined) {
    throw new SettingError(
      `sweepSchedule ${JSON.stringify(expression)} is not allowed (${scheduleProblem}); use rate(N unit) with N a whole number from 1 and the unit minute, hour or day (plural when N > 1), or cron(...) with 6 fields, e.g. ${DEFAULT_SWEEP_SCHEDULE} or cron(0 3 * * ? *)`,
    );
  }

  const trustedKeyIssuers = validateArnPatterns(
    'trustedKeyIssuers',
    props.trustedKeyIssuers ?? DEFAULTS.trustedKeyIssuers,
  );

  const exemptionApprovers = validateArnPatterns('exemptionApprovers', props.exemptionApprovers ?? []);
  if (exemptionApprovers.length > 0 && props.organization !== undefined) {
    throw new SettingError(
      'exemptionApprovers is set with organization: exemption approvers are proven from the CloudTrail of the central account only; unset one of them',
    );
  }
  const maxExemptionDays = props.maxExemptionDays;
  // The same rule as MAX_EXEMPTION_DAYS at cold start: with approvers, CloudTrail's 90 days bound the proof.
  const maxDays = exemptionApprovers.length > 0 ? CLOUDTRAIL_LOOKUP_DAYS : MAX_EXEMPTION_DAYS_LIMIT;
  if (
    maxExemptionDays !== undefined &&
    !Token.isUnresolved(maxExemptionDays) &&
    !(Number.isInteger(maxExemptionDays) && maxExemptionDays >= 1 && maxExemptionDays <= maxDays)
  ) {
    throw new SettingError(
      `maxExemptionDays ${maxExemptionDays} is not allowed; use ${wholeNumberRange(1, maxDays)} (days)${exemptionApprovers.length > 0 ? ', as CloudTrail LookupEvents proves who set an exemption for 90 days only' : ''}`,
    );
  }

  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail)) {
    validateAlarmEmail(props.alarmEmail);
  }

  return {
    remediationMode,
    keepKey,
    exemptTag,
    rotationGraceHours,
    inUseHours,
    logRetention,
    createTrail: props.createTrail ?? false,
    sweepSchedule,
    sweepSource,
    trustedKeyIssuers,
    exemptionApprovers,
    maxExemptionDays,
  };
}

/**
 * The same rule as the functions' cold start for a list of trust patterns (matched as IAM's ArnLike): at most
 * {@link MAX_TRUSTED_KEY_ISSUERS}, each an IAM or STS ARN pattern with an empty region. Throws SettingError.
 */
function validateArnPatterns(name: string, patterns: readonly string[]): readonly string[] {
  if (patterns.length > MAX_TRUSTED_KEY_ISSUERS) {
    throw new SettingError(
      `${name} holds ${patterns.length} patterns; use at most ${MAX_TRUSTED_KEY_ISSUERS} (a * wildcard covers many principals)`,
    );
  }
  for (const pattern of patterns) {
    const problem = Token.isUnresolved(pattern) ? undefined : principalArnPatternProblem(pattern);
    if (problem !== undefined) {
      throw new SettingError(
        `${name} entry ${JSON.stringify(pattern)} is not allowed; use an IAM or STS ARN with * wildcards, e.g. arn:aws:iam::123456789012:role/provisioning (${problem})`,
      );
    }
  }
  return patterns;
}

/**
 * A synth error when the construct's region is known, in the `aws` partition, and not where IAM's events arrive,
 * unless they are forwarded. An unresolved region is left to the deployment (KeyWardenStack adds a CloudFormation
 * rule); for other partitions the events' region is not confirmed.
 */
function guardEventRegion(scope: Construct, eventsForwarded: boolean): void {
  const { region } = Stack.of(scope);
  if (Token.isUnresolved(region) || region === IAM_EVENT_REGION || eventsForwarded) return;
  if ((RegionInfo.get(region).partition ?? 'aws') !== 'aws') return;
  Annotations.of(scope).addError(
    `IAM events reach EventBridge only in ${IAM_EVENT_REGION}, so the rule in ${region} would never fire. Deploy in ${IAM_EVENT_REGION}, or forward the events to ${region} (KeyWardenStack does it with -c homeRegion=${region}) and set eventsForwarded: true.`,
  );
}

const RATE = /^rate\((\d+) (minute|hour|day)(s?)\)$/;
const CRON = /^cron\((.*)\)$/;

/**
 * What EventBridge would reject in a schedule expression, or undefined: a rate needs N >= 1 and the singular
 * unit exactly when N is 1; a cron has 6 fields, and exactly one of day-of-month and day-of-week is `?`.
 */
export function invalidSchedule(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate !== null) {
    const [, count, unit, plural] = rate as unknown as [string, string, string, string];
    if (Number(count) < 1) return 'a rate must be at least 1';
    if ((Number(count) === 1) !== (plural === '')) {
      return Number(count) === 1 ? `say 1 ${unit}` : `say ${Number(count)} ${unit}s`;
    }
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron !== null) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    if (fields.length !== 6)
      return `a cron expression has 6 fields, this one ${fields.filter(Boolean).length}`;
    if ((fields[2] === '?') === (fields[4] === '?')) {
      return 'exactly one of day-of-month and day-of-week must be ?';
    }
    return undefined;
  }
  if (expression.startsWith('rate(')) return 'a rate is a whole number and a unit';
  return 'neither rate(...) nor cron(...)';
}

function oneOf<T extends string>(name: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (Token.isUnresolved(value) || allowed.includes(value)) return value;
  throw new SettingError(
    `${name} ${JSON.stringify(value)} is not allowed; use one of: ${allowed.join(', ')}`,
  );
}
