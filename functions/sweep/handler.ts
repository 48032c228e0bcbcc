/**
 * Scheduled account sweep: the safety net behind the real-time detector. Finds violations whose events were
 * lost or that predate the deployment, re-imports open violations so Security Hub never expires them, resolves
 * or archives stale findings, and remediates violations whose rotation grace has ended.
 *
 * Organization mode (MEMBER_ROLE_NAME set): the schedule lists the accounts (MEMBER_ACCOUNT_IDS, else
 * Organizations through ORGANIZATION_ROLE_ARN) and, with SWEEP_QUEUE_URL, queues one message per account; the
 * queue's event source mapping invokes this same function for each message, which sweeps that one account
 * through its member role. Without a queue, the scheduled invocation sweeps every account itself.
 */

import type { Context, SQSEvent } from 'aws-lambda';
import { accountResolver } from '../adapters/account.ts';
import type { CanaryStorePort } from '../adapters/canary-store.ts';
import { type AwsClients, CLIENT_SETTINGS, createClients, errorCode } from '../adapters/clients.ts';
import { type CloudTrailPort, cloudTrailClients, createCloudTrailPort } from '../adapters/cloudtrail.ts';
import { createIamPort, type IamPort } from '../adapters/iam.ts';
import { type AccountClients, createAccountClients } from '../adapters/member-accounts.ts';
import { createNotifier, type NotifierPort } from '../adapters/notify.ts';
import { createFindingsPort, type FindingsPort } from '../adapters/securityhub.ts';
import { type TagEventsPort, tagEventsPorts } from '../adapters/tag-events.ts';
import { lazyUsageEventsPort } from '../adapters/usage-ports.ts';
import { type AccountTarget, routeAccount } from '../core/organization.ts';
import type { AccountContext } from '../core/types.ts';
import { isSqsEvent } from '../detector/queue.ts';
import { monotonicClock, sleep as realSleep } from '../shared/clock.ts';
import { type Config, loadConfig, requireSweepAccountSource } from '../shared/config.ts';
import {
  MEMBER_SESSION_NAMES,
  METRIC_SERVICES,
  SWEEP_SOURCES,
  type SweepSource,
} from '../shared/constants.ts';
import { InvalidEventError } from '../shared/errors.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { createMetrics, sweepMetricPoints, withMetrics } from '../shared/metrics.ts';
import { encodeAccountMessage, parseAccountMessage } from './account-message.ts';
import {
  type AccountSweep,
  type AccountSweepDeps,
  addSummaries,
  type CoverageOutcome,
  membersBlind,
  sweepAccounts,
  sweepErrorOf,
  sweepPortsFrom,
  sweepTargets,
  totalSummary,
} from './accounts.ts';
import { checkCoverage, expectedForwarding, type MemberAccess, memberAccessOf } from './coverage.ts';
import { runSweep, SweepError, type SweepFailure, type SweepResult, type SweepSummary } from './engine.ts';
import { type AccountIamPort, createAccountIamPort } from './iam-account.ts';
import { sweepMemberAccountIds } from './members.ts';
import { checkTrailHealth } from './trail-health.ts';

export interface SweepHandlerDeps {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly logger: Logger;
  /** Default: CloudTrail clients with the functions' settings, one per region. */
  readonly cloudTrail?: CloudTrailPort;
  readonly clock?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface SweepHandlerResult extends SweepSummary {
  readonly source: SweepSource;
  /** Single account; in organization mode each account has its own (see `accounts`). */
  readonly reportGeneratedAt: string | undefined;
  /** Organization mode: the accounts this invocation swept, each with its own summary. */
  readonly accounts?: readonly AccountSummary[];
  /** Organization mode with the coverage check: members found blind by this invocation. */
  readonly membersBlind?: number;
}

export interface AccountSummary extends SweepSummary {
  readonly accountId: string;
  readonly status: AccountSweep['status'];
  readonly reportGeneratedAt: string | undefined;
  readonly failures: number;
}

/** The scheduled invocation of an organization sweep with a queue: it queued the accounts, swept none. */
export interface SweepPlanResult {
  readonly source: SweepSource;
  readonly accountsQueued: number;
}

type LambdaContext = Pick<Context, 'invokedFunctionArn'> & Partial<Pick<Context, 'awsRequestId'>>;

/** Member accounts in one scheduled invocation, when there is no queue; the queue's mapping bounds its own. */
const IN_PROCESS_ACCOUNT_CONCURRENCY = 4;

/**
 * The schedule's event is ignored except for an optional `sweepSource` (`credential-report` | `full`), so an
 * operator can run one full listing with `aws lambda invoke --payload '{"sweepSource":"full"}'`.
 */
export function sourceFromEvent(event: unknown, fallback: SweepSource): SweepSource {
  if (typeof event !== 'object' || event === null || !('sweepSource' in event)) return fallback;
  const requested = (event as { sweepSource: unknown }).sweepSource;
  if (typeof requested === 'string' && (SWEEP_SOURCES as readonly string[]).includes(requested)) {
    return requested as SweepSource;
  }
  throw new InvalidEventError(
    `sweepSource=${JSON.stringify(requested)} is not allowed; use one of: ${SWEEP_SOURCES.join(', ')}`,
  );
}

/** What every invocation of one handler shares: its settings, ports and logger, built once at cold start. */
interface SweepRuntime {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly logger: Logger;
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly iam: IamPort;
  readonly accountIam: AccountIamPort;
  readonly notifier: NotifierPort | undefined;
  readonly resolveAccount: ReturnType<typeof accountResolver>;
  readonly cloudTrail: CloudTrailPort;
  /** Only with exemption approvers does the sweep read who set exemption tags (one read per account sweep). */
  readonly tagEventsFor: ((account: AccountContext) => TagEventsPort) | undefined;
  /** The canary table (CANARY_TABLE_NAME set); its client is loaded only then. */
  readonly canaryStore: Promise<CanaryStorePort> | undefined;
}

function sweepRuntime(deps: SweepHandlerDeps): SweepRuntime {
  const { config, clients, logger } = deps;
  const clock = deps.clock ?? monotonicClock();
  const sleep = deps.sleep ?? realSleep;
  const cloudTrailClientFor = cloudTrailClients();
  return {
    config,
    clients,
    logger,
    clock,
    sleep,
    iam: createIamPort(clients.iam),
    accountIam: createAccountIamPort(clients.iam, { sleep }),
    notifier: config.eventBusName ? createNotifier(clients.eventBridge, config.eventBusName) : undefined,
    resolveAccount: accountResolver(process.env.AWS_REGION),
    cloudTrail: deps.cloudTrail ?? createCloudTrailPort(cloudTrailClientFor),
    tagEventsFor:
      config.exemptionApprovers.length === 0
        ? undefined
        : tagEventsPorts({ clock, sleep, clientFor: cloudTrailClientFor }),
    canaryStore: config.canaryTableName === undefined ? undefined : openCanaryStore(config.canaryTableName),
  };
}

async function openCanaryStore(tableName: string): Promise<CanaryStorePort> {
  const [{ DynamoDBClient }, { createCanaryStore }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('../adapters/canary-store.ts'),
  ]);
  return createCanaryStore(new DynamoDBClient({ ...CLIENT_SETTINGS }), tableName);
}

/** Builds a handler around its dependencies; the exported `handler` uses the environment's. */
export function createSweepHandler(deps: SweepHandlerDeps) {
  // At cold start, like the configuration: an organization sweep that cannot tell its members.
  requireSweepAccountSource(deps.config);
  const runtime = sweepRuntime(deps);
  return async function handler(
    event: unknown,
    context?: LambdaContext,
  ): Promise<SweepHandlerResult | SweepPlanResult> {
    try {
      if (isSqsEvent(event)) return await consume(runtime, event, context);
      return await sweepOnSchedule(runtime, event, context);
    } catch (error) {
      if (!(error instanceof SweepError)) {
        runtime.logger.error('sweep failed', { error: error as Error, requestId: context?.awsRequestId });
      }
      throw error;
    }
  };
}

/** The schedule: its own account alone, or the organization's accounts, swept here or queued one by one. */
async function sweepOnSchedule(
  runtime: SweepRuntime,
  event: unknown,
  context: LambdaContext | undefined,
): Promise<SweepHandlerResult | SweepPlanResult> {
  const { config, logger } = runtime;
  const source = sourceFromEvent(event, config.sweepSource);
  const account = await runtime.resolveAccount(context);
  if (config.memberRoleName === undefined) return await sweepOwnAccount(runtime, account, source);
  const targets = sweepTargets(account, await sweepMemberAccountIds(config, account, logger));
  if (config.sweepQueueUrl === undefined) {
    return await sweepSeveral(runtime, targets, source, IN_PROCESS_ACCOUNT_CONCURRENCY);
  }
  const accountIds = targets.map((target) => target.account.accountId);
  await queueAccounts(config.sweepQueueUrl, accountIds, source);
  logger.info('queued accounts', { source, accountsQueued: accountIds.length });
  return { source, accountsQueued: accountIds.length };
}

/** The blind-path check; its own failure is returned, so it stops nothing. */
function trailCheck(
  runtime: SweepRuntime,
  findings: FindingsPort,
  account: AccountContext,
): Promise<SweepFailure | undefined> {
  const { cloudTrail, clock, logger } = runtime;
  return checkTrailHealth({ cloudTrail, findings, clock }, account).then(
    ({ health, finding }): SweepFailure | undefined => {
      logger[health.status === 'covered' ? 'info' : 'warn']('trail health', {
        status: health.status,
        findingId: finding.Id,
        compliance: finding.Compliance?.Status,
      });
      return undefined;
    },
    (error: unknown): SweepFailure => {
      logger.error('trail health check failed', { code: errorCode(error), error: error as Error });
      return { stage: 'trail-health', userName: undefined, error };
    },
  );
}

/**
 * The coverage check of each member (ORGANIZATION_BUS_ARN set) and the canary of every account (CANARY_TABLE_NAME
 * set); its own failure is returned, so it stops nothing.
 */
function coverageCheck(
  runtime: SweepRuntime,
  accountClients: AccountClients,
  targets: readonly AccountTarget[],
): AccountSweepDeps['coverage'] {
  const { config } = runtime;
  const busArn = config.organizationBusArn;
  if (busArn === undefined && runtime.canaryStore === undefined) return undefined;
  const own = targets.find((target) => target.via === 'own')?.account;
  return async (target, access) => {
    if (target.via === 'own' && runtime.canaryStore === undefined) return { status: undefined };
    const hub = own ?? { ...target.account, accountId: busArn?.split(':')[4] ?? target.account.accountId };
    try {
      const memberAccess = await memberAccessOf(accountClients, target, access, busArn !== undefined);
      return await coverageOf(runtime, hub, target.account, memberAccess);
    } catch (error) {
      runtime.logger.error('coverage check failed', {
        accountId: target.account.accountId,
        error: error as Error,
      });
      return { status: undefined, failure: { stage: 'coverage', userName: undefined, error } };
    }
  };
}

/** One account's coverage check, logged; a forwarding rule the member role may not read also fails the run. */
async function coverageOf(
  runtime: SweepRuntime,
  hub: AccountContext,
  account: AccountContext,
  access: MemberAccess,
): Promise<CoverageOutcome> {
  const { config, logger, clock, sleep } = runtime;
  const ownFindings = createFindingsPort(runtime.clients.securityHub, { ...hub, sleep });
  const report = await checkCoverage(
    { own: hub, ownFindings, clock, canary: await runtime.canaryStore },
    account,
    access,
    expectedForwarding(config.organizationBusArn ?? ''),
  );
  logger[report.health.status === 'covered' ? 'info' : 'warn']('coverage', {
    accountId: report.accountId,
    status: report.health.status,
    problems: report.health.problems.map((problem) => problem.code),
    reportedIn: report.reportedIn,
  });
  const unreadable = report.health.problems.some((problem) => problem.code === 'RULE_UNREADABLE');
  return {
    status: report.health.status,
    ...(unreadable ? { failure: { stage: 'coverage', userName: undefined, error: report.error } } : {}),
  };
}

/** Single account: the canary (CANARY_TABLE_NAME set) and this account's coverage finding. */
async function ownCanary(
  runtime: SweepRuntime,
  findings: FindingsPort,
  account: AccountContext,
): Promise<SweepFailure | undefined> {
  if (runtime.canaryStore === undefined) return undefined;
  try {
    const access: MemberAccess = { ok: true, findings, iam: runtime.clients.iam };
    return (await coverageOf(runtime, account, account, access)).failure;
  } catch (error) {
    runtime.logger.error('coverage check failed', { accountId: account.accountId, error: error as Error });
    return { stage: 'coverage', userName: undefined, error };
  }
}

function logOutcomes(logger: Logger, result: SweepResult, accountId?: string): void {
  for (const { result: checked } of result.outcomes) {
    if (checked.action.kind === 'deactivated') {
      logger.info('deactivated', {
        ...(accountId ? { accountId } : {}),
        userName: checked.userName,
        findingId: checked.findingId,
        deactivatedAccessKeyIds: checked.action.keys.map((key) => key.accessKeyId),
      });
    }
  }
}

function logFailures(logger: Logger, failures: readonly SweepFailure[]): void {
  for (const failure of failures) {
    logger.error('sweep step failed', {
      ...(failure.accountId ? { accountId: failure.accountId } : {}),
      stage: failure.stage,
      userName: failure.userName,
      code: errorCode(failure.error),
      error: failure.error as Error,
    });
  }
}

async function sweepOwnAccount(
  runtime: SweepRuntime,
  account: AccountContext,
  source: SweepSource,
): Promise<SweepHandlerResult> {
  const { config, logger, sleep } = runtime;
  const findings = createFindingsPort(runtime.clients.securityHub, {
    accountId: account.accountId,
    partition: account.partition,
    sleep,
  });
  // First, so a blind detector is reported even when the user sweep fails; its own failure stops nothing.
  const trailFailure = await trailCheck(runtime, findings, account);
  const canaryFailure = await ownCanary(runtime, findings, account);
  const result = await runSweep(
    {
      iam: runtime.iam,
      accountIam: runtime.accountIam,
      findings,
      notifier: runtime.notifier,
      clock: runtime.clock,
      sleep,
      onWarning: (message, detail) => logger.warn(message, { ...detail }),
      tagEvents: runtime.tagEventsFor?.(account),
      usageEvents: lazyUsageEventsPort(runtime.clients, { clock: runtime.clock, sleep }),
    },
    { settings: { ...config, importFindings: true }, source, origin: 'schedule' },
    account,
  );
  logOutcomes(logger, result);
  logFailures(logger, result.failures);
  const summary: SweepHandlerResult = {
    source: result.source,
    reportGeneratedAt: result.reportGeneratedAt?.toISOString(),
    ...result.summary,
  };
  logger.info('swept', {
    ...summary,
    failures: result.failures.length,
    fallbackReason: result.fallbackReason,
  });
  // A partial failure is a failure: rethrown so Lambda retries and then the on-failure destination gets it.
  const failures = [...result.failures, ...[trailFailure, canaryFailure].filter((f) => f !== undefined)];
  if (failures.length > 0) throw new SweepError(failures, result.summary);
  return summary;
}

/** Sweeps the accounts, each through its own ports; throws a SweepError naming the accounts that failed. */
async function sweepSeveral(
  runtime: SweepRuntime,
  targets: readonly AccountTarget[],
  source: SweepSource,
  accountConcurrency: number,
): Promise<SweepHandlerResult> {
  const { config, logger, sleep } = runtime;
  // One set of member sessions per invocation: each account's session is assumed once and serves its whole
  // sweep, and a warm function that sweeps many accounts over time keeps none of them.
  const accountClients = createAccountClients({
    own: runtime.clients,
    memberRoleName: config.memberRoleName,
    sessionName: MEMBER_SESSION_NAMES.sweep,
  });
  const sweeps = await sweepAccounts(
    {
      portsFor: sweepPortsFrom(accountClients, { sleep, clock: runtime.clock }),
      notifier: runtime.notifier,
      clock: runtime.clock,
      sleep,
      // The member role grants no CloudTrail read: the trail check runs in the function's own account.
      beforeOwnAccount: (target, ports) => trailCheck(runtime, ports.findings, target.account),
      coverage: coverageCheck(runtime, accountClients, targets),
      onWarning: (message, detail) => logger.warn(message, { ...detail }),
    },
    targets,
    { settings: { ...config, importFindings: true }, source, origin: 'schedule', accountConcurrency },
  );
  const accounts = sweeps.map((sweep) => accountSummaryOf(logger, sweep));
  logFailures(
    logger,
    sweeps.flatMap((sweep) => sweep.failures),
  );
  for (const account of accounts) logger.info('swept account', { source, ...account });
  const summary: SweepHandlerResult = {
    source,
    reportGeneratedAt: accounts.length === 1 ? accounts[0]?.reportGeneratedAt : undefined,
    ...totalSummary(sweeps),
    accounts,
    ...(config.organizationBusArn !== undefined ? { membersBlind: membersBlind(sweeps) } : {}),
  };
  logger.info('swept', { ...summary, accounts: accounts.length });
  const error = sweepErrorOf(sweeps);
  if (error !== undefined) throw Object.assign(error, { membersBlind: summary.membersBlind });
  return summary;
}

/** One account's line of the summary; a swept account's deactivations are logged on the way. */
function accountSummaryOf(logger: Logger, sweep: AccountSweep): AccountSummary {
  const { accountId } = sweep.target.account;
  if (sweep.status === 'failed') {
    return { accountId, status: 'failed', reportGeneratedAt: undefined, failures: 1, ...totalSummary([]) };
  }
  logOutcomes(logger, sweep.result, accountId);
  return {
    accountId,
    status: 'swept',
    reportGeneratedAt: sweep.result.reportGeneratedAt?.toISOString(),
    failures: sweep.failures.length,
    ...sweep.result.summary,
  };
}

/** Queues one message per account, 10 per SendMessageBatch; a refused message fails the invocation. */
async function queueAccounts(queueUrl: string, accountIds: readonly string[], source: SweepSource) {
  const [{ SQSClient }, { createAccountQueuePort }, { CLIENT_SETTINGS }] = await Promise.all([
    import('@aws-sdk/client-sqs'),
    import('../adapters/account-queue.ts'),
    import('../adapters/clients.ts'),
  ]);
  const port = createAccountQueuePort(new SQSClient({ ...CLIENT_SETTINGS }), queueUrl);
  await port.send(
    accountIds.map((accountId) => ({
      accountId,
      body: encodeAccountMessage({ accountId, sweepSource: source }),
    })),
  );
}

/**
 * The queue's messages, one account each. The mapping's batch size is 1; a larger batch is swept message by
 * message and fails as a whole when any account fails (sweeping an account again is harmless).
 */
async function consume(
  runtime: SweepRuntime,
  event: SQSEvent,
  context: LambdaContext | undefined,
): Promise<SweepHandlerResult> {
  const { config } = runtime;
  if (config.memberRoleName === undefined) {
    throw new InvalidEventError(
      'an SQS batch reached the sweep, which has no account queue without MEMBER_ROLE_NAME',
    );
  }
  const own = await runtime.resolveAccount(context);
  const messages = event.Records.map((record) => parseAccountMessage(record.body));
  const results: SweepHandlerResult[] = [];
  let firstError: unknown;
  for (const { accountId, sweepSource } of messages) {
    const route = routeAccount(accountId, own, config);
    if (route.kind === 'skip') throw new InvalidEventError(`sweep queue message refused: ${route.detail}`);
    try {
      results.push(await sweepSeveral(runtime, [route.target], sweepSource, 1));
    } catch (error) {
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
  if (results.length === 1) return results[0] as SweepHandlerResult;
  return {
    source: messages[0]?.sweepSource ?? config.sweepSource,
    reportGeneratedAt: undefined,
    ...addSummaries(results),
    accounts: results.flatMap((result) => result.accounts ?? []),
  };
}

// Config is parsed once, at cold start: a bad value fails the init with a message naming it.
const config = loadConfig(process.env);

export const handler = withMetrics(
  createSweepHandler({ config, clients: createClients(), logger: createLogger(METRIC_SERVICES.sweep) }),
  sweepMetricPoints,
  createMetrics(METRIC_SERVICES.sweep),
);
