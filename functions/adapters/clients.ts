/** AWS SDK clients, built once per process, with deliberate retry and timeout settings. */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { USER_AGENT_MARKER } from '../shared/constants.ts';

export interface AwsClients {
  readonly iam: IAMClient;
  readonly securityHub: SecurityHubClient;
  readonly eventBridge: EventBridgeClient;
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
    securityHub: new SecurityHubClient(settings),
    eventBridge: new EventBridgeClient(settings),
  };
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
