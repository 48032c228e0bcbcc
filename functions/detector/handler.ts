/**
 * Real-time detector: an EventBridge "AWS API Call via CloudTrail" event for an access-key call → live re-check
 * of that user in IAM → ASFF finding → optional deactivation. The event is a hint; IAM is the truth.
 */

import type { Context } from 'aws-lambda';
import { accountResolver } from '../adapters/account.ts';
import { type AccountPorts, createAccountPorts, type InvocationTime } from '../adapters/account-ports.ts';
import type { CanaryReceiptPort } from '../adapters/canary-receipt.ts';
import { type AwsClients, createClients } from '../adapters/clients.ts';
import { createNotifier, type NotifierPort } from '../adapters/notify.ts';
import type { TagEventsPort } from '../adapters/tag-events.ts';
import { prepareClients } from '../adapters/warm-up.ts';
import { type CanaryRecord, canarySentAt } from '../core/canary.ts';
import { buildCoverageFinding } from '../core/coverage.ts';
import { isOwnCall, type KeyEventSkip, outOfScopeTagChange, parseKeyEvent } from '../core/event.ts';
import {
  type AccountTarget,
  memberRoleArn,
  type RoutedKeyEvent,
  routeKeyEvent,
} from '../core/organization.ts';
import type { AccountContext, EventTrigger } from '../core/types.ts';
import { type CheckResult, checkUser, type EngineSettings, pendingIntentFor } from '../engine/check-user.ts';
import { monotonicClock, sleep } from '../shared/clock.ts';
import { type Config, loadConfig } from '../shared/config.ts';
import {
  FORWARDING_RULE_NAME,
  iamEventRegionFor,
  KEY_EVENT_PATTERN,
  MEMBER_SESSION_NAMES,
  METRIC_SERVICES,
} from '../shared/constants.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { createMetrics, detectorMetricPoints, withMetrics } from '../shared/metrics.ts';
import { PRIMING_CONTEXT, PRIMING_EVENT, PRIMING_PARTITION } from './priming.ts';
import { acceptQueueBatches } from './queue.ts';

export interface DetectorDeps {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly logger: Logger;
  readonly clock?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Read where and by what a violating user's keys are used, from CloudTrail; default true. */
  readonly usageEvidence?: boolean;
}

export type DetectorResult =
  | { readonly status: 'skipped'; readonly reason: string; readonly eventId: string | undefined }
  | {
      readonly status: 'evaluated';
      readonly userName: string;
      readonly verdict: string;
      readonly action: string;
      readonly findingId: string;
      /** Whether a finding was imported into Security Hub for this event. */
      readonly findingImported: boolean;
      /** Set when another, untrusted principal made a key usable: its threat finding (MITRE ATT&CK T1098.001). */
      readonly threatFindingId?: string;
    };

type LambdaContext = Pick<Context, 'invokedFunctionArn'> &
  Partial<Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>>;

interface Adapters {
  readonly notifier: NotifierPort | undefined;
  /** The account's own ports, or a member's through its role (MemberRoleError when it cannot be assumed). */
  portsFor(target: AccountTarget, invocation?: InvocationTime): Promise<AccountPorts>;
}

function createAdapters(deps: DetectorDeps): Adapters {
  const { clients, config } = deps;
  const { eventBusName } = config;
  return {
    notifier: eventBusName ? createNotifier(clients.eventBridge, eventBusName) : undefined,
    portsFor: createAccountPorts({
      own: clients,
      memberRoleName: config.memberRoleName,
      sessionName: MEMBER_SESSION_NAMES.detector,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      usageEvidence: deps.usageEvidence !== false,
    }),
  };
}

/** What every event handled by one detector shares, built once at cold start. */
interface DetectorRuntime {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly settings: EngineSettings;
  readonly resolveAccount: ReturnType<typeof accountResolver>;
  readonly adapters: Adapters;
  /** Only with exemption approvers does the detector read CloudTrail: loaded then, so no other event pays for it. */
  readonly tagEventsFor: Promise<(account: AccountContext) => TagEventsPort> | undefined;
  /** The canary table (CANARY_TABLE_NAME set): loaded by the first canary event, so no other event pays for it. */
  readonly canaryStore: (() => Promise<CanaryReceiptPort>) | undefined;
}

/** Builds a handler around its dependencies; the exported `handler` uses the environment's. */
export function createDetector(deps: DetectorDeps) {
  const { config, logger } = deps;
  const clock = deps.clock ?? monotonicClock();
  const runtime: DetectorRuntime = {
    config,
    logger,
    clock,
    sleep: deps.sleep ?? sleep,
    settings: { ...config, importFindings: true },
    resolveAccount: accountResolver(process.env.AWS_REGION),
    adapters: createAdapters(deps),
    tagEventsFor:
      config.exemptionApprovers.length === 0
        ? undefined
        : import('../adapters/tag-events.ts').then(({ tagEventsPorts }) =>
            tagEventsPorts({ clock, sleep: deps.sleep ?? sleep }),
          ),
    canaryStore: lazyCanaryStore(config.canaryTableName),
  };
  return async function handler(event: unknown, context?: LambdaContext): Promise<DetectorResult> {
    try {
      return await handleKeyEvent(runtime, event, context);
    } catch (error) {
      // Rethrown so Lambda retries and, when retries run out, the event reaches the on-failure destination.
      logger.error('failed', { error: error as Error, requestId: context?.awsRequestId });
      throw error;
    }
  };
}

/** The roles whose sessions are KeyWarden itself in the target account: its own, or the member role there. */
function ownRolesIn(config: Config, target: AccountTarget): readonly string[] {
  return target.via === 'member-role' && config.memberRoleName !== undefined
    ? [
        ...config.ownRoleArns,
        memberRoleArn(target.account.partition, target.account.accountId, config.memberRoleName),
      ]
    : config.ownRoleArns;
}

async function handleKeyEvent(
  runtime: DetectorRuntime,
  event: unknown,
  context: LambdaContext | undefined,
): Promise<DetectorResult> {
  const { config, logger } = runtime;
  const own = await runtime.resolveAccount(context);
  // An event of another account is acted on only through a member role, and only for allowed accounts.
  const parsed = routeKeyEvent(parseKeyEvent(event), own, config);
  if (parsed.kind !== 'skip' && runtime.canaryStore !== undefined) {
    const sentAt = canarySentAt(parsed.userName, parsed.trigger, ownRolesIn(config, parsed.target));
    if (sentAt !== undefined) return await receiveCanary(runtime, parsed, sentAt, context);
  }
  const skipped = parsed.kind === 'skip' ? parsed : outOfScopeTagChange(parsed, config.exemptTag);
  if (skipped !== undefined || parsed.kind === 'skip') {
    const { reason, detail, eventId } = skipped ?? (parsed as KeyEventSkip);
    logger.info('skipped', { reason, detail, eventId });
    return { status: 'skipped', reason, eventId };
  }
  const { account } = parsed.target;
  // The invocation's remaining time bounds how long throttled Security Hub calls are retried.
  const { iam, findings, usageEvents } = await runtime.adapters.portsFor(parsed.target, {
    remainingTimeMs: context?.getRemainingTimeInMillis?.(),
  });
  const { trigger } = parsed;
  let previousFinding: Awaited<ReturnType<typeof pendingIntentFor>>;
  // KeyWarden's own UpdateAccessKey comes back as an event. Recognised by the caller's role (never the user
  // agent, which any client can set), it needs work only when its outcome was never recorded.
  if (trigger.eventName === 'UpdateAccessKey' && isOwnCall(trigger, ownRolesIn(config, parsed.target))) {
    previousFinding = await pendingIntentFor(findings, account, parsed.userName, trigger.accessKeyId);
    if (previousFinding === undefined) {
      logger.info('skipped', {
        reason: 'own-remediation',
        detail: `KeyWarden's own UpdateAccessKey of ${trigger.accessKeyId ?? 'a key'}, already recorded`,
        eventId: trigger.eventId,
      });
      return { status: 'skipped', reason: 'own-remediation', eventId: trigger.eventId };
    }
  }
  const tagEvents = runtime.tagEventsFor === undefined ? undefined : (await runtime.tagEventsFor)(account);
  const { notifier } = runtime.adapters;
  const result = await checkUser(
    { iam, findings, notifier, clock: runtime.clock, sleep: runtime.sleep, tagEvents, usageEvents },
    // KeyWarden's own roles hand keys back too (a rolled-back deactivation): never a threat.
    {
      ...runtime.settings,
      trustedKeyIssuers: [...config.trustedKeyIssuers, ...ownRolesIn(config, parsed.target)],
    },
    account,
    { userName: parsed.userName, trigger, expectation: parsed.expectation, previousFinding },
  );
  return reportEvaluated(logger, account, trigger, result);
}

/** The canary table's port, built on first use (the DynamoDB client is loaded only then). */
function lazyCanaryStore(tableName: string | undefined): (() => Promise<CanaryReceiptPort>) | undefined {
  if (tableName === undefined) return undefined;
  let store: Promise<CanaryReceiptPort> | undefined;
  return () => {
    store ??= Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../adapters/canary-receipt.ts'),
      import('../adapters/clients.ts'),
    ]).then(([{ DynamoDBClient }, { createCanaryReceipts }, { CLIENT_SETTINGS }]) =>
      createCanaryReceipts(new DynamoDBClient({ ...CLIENT_SETTINGS }), tableName),
    );
    return store;
  };
}

/**
 * KeyWarden's own canary arrived: recorded in the canary table (never over a newer receipt), and the account's
 * coverage finding re-imported from what the sweep stored there, with the arrival and its delay. No IAM call, no
 * compliance or threat finding.
 */
async function receiveCanary(
  runtime: DetectorRuntime,
  event: Extract<RoutedKeyEvent, { target: AccountTarget }>,
  sentAt: Date,
  context: LambdaContext | undefined,
): Promise<DetectorResult> {
  const { logger } = runtime;
  const { account } = event.target;
  const store = await (runtime.canaryStore as () => Promise<CanaryReceiptPort>)();
  const eventTime = new Date(event.trigger.eventTime);
  const receivedAt = runtime.clock();
  const record = await store.recordReceived(account.accountId, {
    sentAt,
    receivedAt,
    eventTime: Number.isNaN(eventTime.getTime()) ? undefined : eventTime,
  });
  if (record !== undefined) {
    const { findings } = await runtime.adapters.portsFor(event.target, {
      remainingTimeMs: context?.getRemainingTimeInMillis?.(),
    });
    await findings.importFindings([canaryFinding(runtime, account, event.target, record, receivedAt)]);
  }
  logger.info('canary received', {
    accountId: account.accountId,
    sentAt: sentAt.toISOString(),
    delayMs: record?.delayMs,
    newest: record !== undefined,
    eventId: event.trigger.eventId,
  });
  return { status: 'skipped', reason: 'canary', eventId: event.trigger.eventId };
}

/** The account's coverage finding rebuilt from the canary table: the sweep's last problems, and this arrival. */
function canaryFinding(
  runtime: DetectorRuntime,
  account: AccountContext,
  target: AccountTarget,
  record: CanaryRecord,
  observedAt: Date,
) {
  const problems = record.problems ?? [];
  return buildCoverageFinding({
    subject: account.accountId,
    hub: account,
    health: problems.length === 0 ? { status: 'covered', problems: [] } : { status: 'blind', problems },
    expected: { ruleName: FORWARDING_RULE_NAME, eventPattern: KEY_EVENT_PATTERN, centralBusArn: '' },
    observedAt,
    createdAt: record.findingCreatedAt,
    ruleChecked: target.via === 'member-role' && runtime.config.organizationBusArn !== undefined,
    canary: { sentAt: record.sentAt, receivedAt: record.receivedAt, delayMs: record.delayMs },
  });
}

/** Logs what the check found and did, and returns it as the invocation's result. */
function reportEvaluated(
  logger: Logger,
  account: AccountContext,
  trigger: EventTrigger,
  result: CheckResult,
): DetectorResult {
  if (result.unconfirmed !== undefined) {
    // Common for a key created and deleted at once (CI, attack simulations): reported as IAM shows it, logged,
    // not retried (a retry would page for a state IAM will never show); later events and sweeps see what IAM settles on.
    logger.warn('IAM never showed what the event reported; evaluated what IAM shows', {
      userName: result.userName,
      eventId: trigger.eventId,
      expected: result.unconfirmed,
    });
  }
  const summary = {
    status: 'evaluated' as const,
    userName: result.userName,
    verdict: result.verdict,
    action: result.action.kind,
    findingId: result.findingId,
    findingImported: result.written === 'imported',
    ...(result.threatRaised?.Id ? { threatFindingId: result.threatRaised.Id } : {}),
  };
  logger.info('evaluated', {
    ...summary,
    accountId: account.accountId,
    complianceStatus: result.finding?.Compliance?.Status,
    eventId: trigger.eventId,
    eventName: trigger.eventName,
    ...(result.action.kind === 'deactivated'
      ? { deactivatedAccessKeyIds: result.action.keys.map((key) => key.accessKeyId) }
      : {}),
    ...(result.action.kind === 'aborted' ? { abortReason: result.action.reason } : {}),
    ...(result.threatFindings?.length
      ? { threatFindingIds: result.threatFindings.map((finding) => finding.Id) }
      : {}),
  });
  return summary;
}

// Config is parsed once, at cold start: a bad value fails the init with a message naming it.
const config = loadConfig(process.env);

// Lambda runs init at a full vCPU and the invocation at memory ÷ 1,769 MB of one (256 MB: 0.145), so what a cold
// event would pay once (loading the SDK, building the clients, resolving credentials and endpoints, the first run
// of the SDK's and our own code) is paid here, in the module's top-level await, by handling one event about a
// canned user on canned answers. It makes no AWS call: a skipped event still costs none.
const clients = createClients();

const logger = createLogger(METRIC_SERVICES.detector);

/**
 * An EventBridge event (direct invocation), or a batch of them from the detector's SQS queue, each event with its
 * metrics. The primed run below uses a detector of its own: it publishes no metrics.
 */
export const handler = acceptQueueBatches(
  withMetrics(
    createDetector({ config, clients, logger }),
    detectorMetricPoints,
    createMetrics(METRIC_SERVICES.detector),
  ),
  logger,
);

// A violation reads its keys' usage evidence from CloudTrail: that client is built and primed here too, in the
// canned account's IAM event region (the Region the usage adapter then reuses it for).
const { usageClientsFor } = await import('../adapters/usage-events.ts');

await prepareClients(clients, {
  notifications: config.eventBusName !== undefined,
  deactivation: config.remediationMode === 'deactivate',
  extraClients: [usageClientsFor(clients)(iamEventRegionFor(PRIMING_PARTITION) ?? 'us-east-1')],
  prime: () =>
    // Remediation off: the canned keys never turn inactive, so a deactivation's re-read would not confirm it.
    createDetector({
      config: { ...config, remediationMode: 'off' },
      clients,
      logger: createLogger('keywarden-detector', 'SILENT'),
      sleep: async () => {},
    })(PRIMING_EVENT, PRIMING_CONTEXT),
});
