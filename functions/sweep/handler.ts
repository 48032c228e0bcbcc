/**
 * Scheduled account sweep: the safety net behind the real-time detector. Finds violations whose events were
 * lost or that predate the deployment, re-imports open violations so Security Hub never expires them, resolves
 * or archives stale findings, and remediates violations whose rotation grace has ended.
 */

import type { Context } from 'aws-lambda';
import { accountResolver } from '../adapters/account.ts';
import { type AwsClients, createClients, errorCode } from '../adapters/clients.ts';
import { type CloudTrailPort, cloudTrailClients, createCloudTrailPort } from '../adapters/cloudtrail.ts';
import { createIamPort } from '../adapters/iam.ts';
import { createNotifier } from '../adapters/notify.ts';
import { createFindingsPort } from '../adapters/securityhub.ts';
import { monotonicClock, sleep as realSleep } from '../shared/clock.ts';
import { type Config, loadConfig } from '../shared/config.ts';
import { METRIC_SERVICES, SWEEP_SOURCES, type SweepSource } from '../shared/constants.ts';
import { InvalidEventError } from '../shared/errors.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { createMetrics, sweepMetricPoints, withMetrics } from '../shared/metrics.ts';
import { runSweep, SweepError, type SweepFailure, type SweepSummary } from './engine.ts';
import { createAccountIamPort } from './iam-account.ts';
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
  readonly reportGeneratedAt: string | undefined;
}

type LambdaContext = Pick<Context, 'invokedFunctionArn'> & Partial<Pick<Context, 'awsRequestId'>>;

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

/** Builds a handler around its dependencies; the exported `handler` uses the environment's. */
export function createSweepHandler(deps: SweepHandlerDeps) {
  const { config, clients, logger } = deps;
  const clock = deps.clock ?? monotonicClock();
  const sleep = deps.sleep ?? realSleep;
  const iam = createIamPort(clients.iam);
  const accountIam = createAccountIamPort(clients.iam, { sleep });
  const notifier = config.eventBusName ? createNotifier(clients.eventBridge, config.eventBusName) : undefined;
  const resolveAccount = accountResolver(process.env.AWS_REGION);
  const cloudTrail = deps.cloudTrail ?? createCloudTrailPort(cloudTrailClients());

  return async function handler(event: unknown, context?: LambdaContext): Promise<SweepHandlerResult> {
    try {
      const source = sourceFromEvent(event, config.sweepSource);
      const account = await resolveAccount(context);
      const findings = createFindingsPort(clients.securityHub, {
        accountId: account.accountId,
        partition: account.partition,
        sleep,
      });
      // First, so a blind detector is reported even when the user sweep fails; its own failure stops nothing.
      const trailFailure = await checkTrailHealth({ cloudTrail, findings, clock }, account).then(
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
      const result = await runSweep(
        {
          iam,
          accountIam,
          findings,
          notifier,
          clock,
          sleep,
          onWarning: (message, detail) => logger.warn(message, { ...detail }),
        },
        { settings: { ...config, importFindings: true }, source, origin: 'schedule' },
        account,
      );
      for (const { result: checked } of result.outcomes) {
        if (checked.action.kind === 'deactivated') {
          logger.info('deactivated', {
            userName: checked.userName,
            findingId: checked.findingId,
            deactivatedAccessKeyIds: checked.action.keys.map((key) => key.accessKeyId),
          });
        }
      }
      for (const failure of result.failures) {
        logger.error('sweep step failed', {
          stage: failure.stage,
          userName: failure.userName,
          code: errorCode(failure.error),
          error: failure.error as Error,
        });
      }
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
      const failures = trailFailure ? [...result.failures, trailFailure] : result.failures;
      if (failures.length > 0) throw new SweepError(failures, result.summary);
      return summary;
    } catch (error) {
      if (!(error instanceof SweepError)) {
        logger.error('sweep failed', { error: error as Error, requestId: context?.awsRequestId });
      }
      throw error;
    }
  };
}

// Config is parsed once, at cold start: a bad value fails the init with a message naming it.
const config = loadConfig(process.env);

export const handler = withMetrics(
  createSweepHandler({ config, clients: createClients(), logger: createLogger(METRIC_SERVICES.sweep) }),
  sweepMetricPoints,
  createMetrics(METRIC_SERVICES.sweep),
);
