/** AWS SDK clients, built once per process, with deliberate retry and timeout settings. */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { USER_AGENT_MARKER } from '../shared/constants.ts';
import { AwsCallError } from '../shared/errors.ts';

export interface AwsClients {
  readonly iam: IAMClient;
  readonly securityHub: SecurityHubClient;
  readonly eventBridge: EventBridgeClient;
  /** How these clients sign and name their calls, for a client of another service or Region built alike. */
  readonly settings?: RegionalClientSettings;
}

/** The settings of a set of clients that a client for another Region keeps. */
export interface RegionalClientSettings {
  readonly credentials?: SessionCredentials;
  readonly profile?: string;
  readonly customUserAgent?: string;
}

export const VERSION = '0.1.0';

/**
 * Standard retry mode with 4 attempts (3 retries, exponential back-off with jitter, throttling included),
 * and timeouts so a hung connection fails inside the Lambda's time limit and Lambda's own retries take over.
 */
export const CLIENT_SETTINGS = {
  maxAttempts: 4,
  retryMode: 'standard',
  // Without throwOnRequestTimeout, @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes.
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  // Marks KeyWarden's own calls in CloudTrail, so its own UpdateAccessKey is recognised when it comes back.
  customUserAgent: `${USER_AGENT_MARKER}/${VERSION}`,
} as const;

/** Temporary credentials, as STS AssumeRole returns them. */
export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

export interface ClientOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly maxAttempts?: number;
  /** Replaces the `keywarden/<version>` user agent marker. */
  readonly userAgent?: string;
  /** Explicit credentials (a member role's session); default: the standard credential chain. */
  readonly credentials?: SessionCredentials;
}

export function createClients(options: ClientOptions = {}): AwsClients {
  const settings = {
    ...CLIENT_SETTINGS,
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    ...(options.userAgent !== undefined ? { customUserAgent: options.userAgent } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  };
  return {
    iam: new IAMClient(settings),
    // Security Hub throttles per account and region, shared with every other tool; the findings port rides that
    // out with a back-off sized to the invocation's deadline (retryThrottled), so the SDK does not retry it.
    securityHub: new SecurityHubClient({
      ...settings,
      retryStrategy: new ThrottlingToCallerRetryStrategy(settings.maxAttempts),
    }),
    eventBridge: new EventBridgeClient(settings),
    settings: {
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      customUserAgent: settings.customUserAgent,
    },
  };
}

type RetryToken = Awaited<ReturnType<StandardRetryStrategy['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>[1];

/**
 * The SDK's standard retries (`maxAttempts`, exponential back-off with jitter) for server errors, timeouts and
 * network errors; a throttling error goes straight back to the caller, which retries it on its own schedule.
 */
export class ThrottlingToCallerRetryStrategy {
  readonly mode = 'standard';
  private readonly standard: StandardRetryStrategy;

  constructor(maxAttempts: number) {
    this.standard = new StandardRetryStrategy(maxAttempts);
  }

  acquireInitialRetryToken(retryTokenScope: string): Promise<RetryToken> {
    return this.standard.acquireInitialRetryToken(retryTokenScope);
  }

  refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    // The SDK's retry middleware rethrows the original error when this rejects.
    if (errorInfo.errorType === 'THROTTLING') return Promise.reject(errorInfo.error);
    return this.standard.refreshRetryTokenForRetry(token, errorInfo);
  }

  recordSuccess(token: RetryToken): void {
    this.standard.recordSuccess(token);
  }
}

// What AWS answers when a call exceeds its rate (HTTP 429, or these codes with 400).
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
]);

/** Whether AWS refused the call for exceeding a request rate. */
export function isThrottling(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const sdkError = error as {
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  return (
    sdkError.$metadata?.httpStatusCode === 429 ||
    sdkError.$retryable?.throttling === true ||
    THROTTLING_CODES.has(errorCode(error))
  );
}

export interface ThrottlingRetry {
  /** The API, for the error. */
  readonly operation: string;
  /** Give up once the next back-off would end after this time (ms since the epoch). */
  readonly deadline: number;
  /** First back-off cap; doubles per attempt up to `maxDelayMs`. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Back-off bounds for throttled calls: 250 ms doubling to 20 s (the SDK's own ceiling), each fully jittered. */
export const THROTTLING_BASE_DELAY_MS = 250;
export const THROTTLING_MAX_DELAY_MS = 20_000;

/**
 * Calls `call` until it is not throttled, sleeping a fully jittered exponential back-off between attempts
 * (a random time up to min(max, base × 2^n), so many callers spread out instead of retrying in step), and
 * stops when the next sleep would pass the deadline. Any other error is thrown at once.
 */
export async function retryThrottled<T>(call: () => Promise<T>, options: ThrottlingRetry): Promise<T> {
  const base = options.baseDelayMs ?? THROTTLING_BASE_DELAY_MS;
  const max = options.maxDelayMs ?? THROTTLING_MAX_DELAY_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const start = now();
  // Time spent is at least the sleeps, so an injected sleep that returns at once still reaches the deadline.
  let slept = 0;
  const elapsed = () => Math.max(now() - start, slept);
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error)) throw error;
      const delay = Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1)));
      if (start + elapsed() + delay > options.deadline) {
        const seconds = (elapsed() / 1000).toFixed(1);
        throw new AwsCallError(
          options.operation,
          errorCode(error),
          `${errorMessage(error)} (still throttled after ${attempt} attempts in ${seconds} s; stopped before the invocation's deadline)`,
          { cause: error },
        );
      }
      await sleep(delay);
      slept += delay;
    }
  }
}

/** The AWS error code of an SDK error (its name), or the error's name for anything else. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const named = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const value of [named.Code, named.name, named.code])
      if (typeof value === 'string' && value) return value;
  }
  return 'UnknownError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
