/**
 * Real-time detector: an EventBridge "AWS API Call via CloudTrail" event for an access-key call → live re-check
 * of that user in IAM → ASFF finding → optional deactivation. The event is a hint; IAM is the truth.
 */

import type { Context } from 'aws-lambda';
import { accountFromCaller, accountFromFunctionArn } from '../adapters/account.ts';
import { type AwsClients, createClients } from '../adapters/clients.ts';
import { createIamPort } from '../adapters/iam.ts';
import { createNotifier } from '../adapters/notify.ts';
import { createFindingsPort } from '../adapters/securityhub.ts';
import { parseKeyEvent } from '../core/event.ts';
import type { AccountContext } from '../core/types.ts';
import { checkUser, type EngineSettings } from '../engine/check-user.ts';
import { monotonicClock, sleep } from '../shared/clock.ts';
import { type Config, loadConfig } from '../shared/config.ts';
import { createLogger, type Logger } from '../shared/logger.ts';

export interface DetectorDeps {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly logger: Logger;
  readonly clock?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export type DetectorResult =
  | { readonly status: 'skipped'; readonly reason: string; readonly eventId: string | undefined }
  | {
      readonly status: 'evaluated';
      readonly userName: string;
      readonly verdict: string;
      readonly action: string;
      readonly findingId: string;
    };

type LambdaContext = Pick<Context, 'invokedFunctionArn'> & Partial<Pick<Context, 'awsRequestId'>>;

/** Builds a handler around its dependencies; the exported `handler` uses the environment's. */
export function createDetector(deps: DetectorDeps) {
  const { config, clients, logger } = deps;
  const clock = deps.clock ?? monotonicClock();
  const settings: EngineSettings = { ...config, importFindings: true };
  let callerAccount: Promise<AccountContext> | undefined;
  const iam = createIamPort(clients.iam);
  const notifier = config.eventBusName ? createNotifier(clients.eventBridge, config.eventBusName) : undefined;

  async function resolveAccount(context: LambdaContext | undefined): Promise<AccountContext> {
    const fromArn = accountFromFunctionArn(context?.invokedFunctionArn);
    if (fromArn !== undefined) return fromArn;
    callerAccount ??= accountFromCaller(process.env.AWS_REGION).catch((error: unknown) => {
      callerAccount = undefined;
      throw error;
    });
    return callerAccount;
  }

  return async function handler(event: unknown, context?: LambdaContext): Promise<DetectorResult> {
    try {
      const account = await resolveAccount(context);
      const parsed = parseKeyEvent(event, account.accountId);
      if (parsed.kind === 'skip') {
        logger.info('skipped', { reason: parsed.reason, detail: parsed.detail, eventId: parsed.eventId });
        return { status: 'skipped', reason: parsed.reason, eventId: parsed.eventId };
      }
      const findings = createFindingsPort(clients.securityHub, {
        accountId: account.accountId,
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
      });
      const result = await checkUser(
        { iam, findings, notifier, clock, sleep: deps.sleep ?? sleep },
        settings,
        account,
        { userName: parsed.userName, trigger: parsed.trigger, expectation: parsed.expectation },
      );
      const summary = {
        status: 'evaluated' as const,
        userName: result.userName,
        verdict: result.verdict,
        action: result.action.kind,
        findingId: result.findingId,
      };
      logger.info('evaluated', {
        ...summary,
        complianceStatus: result.finding?.Compliance?.Status,
        eventId: parsed.trigger.eventId,
        eventName: parsed.trigger.eventName,
        ...(result.action.kind === 'deactivated'
          ? { deactivatedAccessKeyIds: result.action.keys.map((key) => key.accessKeyId) }
          : {}),
        ...(result.action.kind === 'aborted' ? { abortReason: result.action.reason } : {}),
      });
      return summary;
    } catch (error) {
      // Rethrown so Lambda retries and, when retries run out, the event reaches the on-failure destination.
      logger.error('failed', { error: error as Error, requestId: context?.awsRequestId });
      throw error;
    }
  };
}

// Config is parsed once, at cold start: a bad value fails the init with a message naming it.
const config = loadConfig(process.env);

export const handler = createDetector({
  config,
  clients: createClients(),
  logger: createLogger('keywarden-detector'),
});
