/**
 * Per-account SDK clients for organization mode: the function's own clients for its own account, or clients
 * signed with a session of the member role (`sts:AssumeRole`), cached per account until shortly before expiry.
 */

import type { AssumeRoleCommandOutput, STSClient } from '@aws-sdk/client-sts';
import { type AccountTarget, memberRoleArn } from '../core/organization.ts';
import { MemberRoleError } from '../shared/errors.ts';
import {
  type AwsClients,
  type ClientOptions,
  createClients,
  errorCode,
  errorMessage,
  type SessionCredentials,
} from './clients.ts';

export interface AccountClientsOptions {
  /** The function's own clients, used for its own account. */
  readonly own: AwsClients;
  /** Unset: a member target is a configuration error (routing never yields one then). */
  readonly memberRoleName: string | undefined;
  /** Names the KeyWarden function in the member's CloudTrail, e.g. `keywarden-detector`. */
  readonly sessionName: string;
  /** The STS client that assumes the member roles; default: one with the standard settings, built on first use. */
  readonly sts?: () => Promise<STSClient>;
  /** How member clients are built (user agent, attempts); region and credentials are set per account. */
  readonly clientOptions?: Omit<ClientOptions, 'region' | 'credentials' | 'profile'>;
  /** Epoch milliseconds; default Date.now. */
  readonly now?: () => number;
}

export interface AccountClients {
  /** Clients that act in the target's account; throws MemberRoleError when the member role cannot be assumed. */
  clientsFor(target: AccountTarget): Promise<AwsClients>;
  /** How many AssumeRole calls were made so far (for the sweep's and the bench's accounting). */
  readonly assumeRoleCalls: number;
}

// Renewed this long before expiry, so a session never runs out in the middle of an account's work.
const REFRESH_MARGIN_MS = 5 * 60_000;
// A role assumed from a Lambda role is role chaining: AWS caps its session at one hour.
const SESSION_SECONDS = 3_600;

async function defaultSts(): Promise<STSClient> {
  const { STSClient } = await import('@aws-sdk/client-sts');
  const { CLIENT_SETTINGS } = await import('./clients.ts');
  return new STSClient({ ...CLIENT_SETTINGS });
}

interface CacheEntry {
  readonly clients: Promise<AwsClients>;
  /** Epoch milliseconds after which the session is renewed; unknown until AssumeRole answers. */
  expiresAt: number;
}

export function createAccountClients(options: AccountClientsOptions): AccountClients {
  const now = options.now ?? Date.now;
  const cache = new Map<string, CacheEntry>();
  let sts: Promise<STSClient> | undefined;
  let assumeRoleCalls = 0;

  async function assume(target: AccountTarget, roleName: string): Promise<SessionCredentials> {
    const { accountId, partition } = target.account;
    const roleArn = memberRoleArn(partition, accountId, roleName);
    sts ??= (options.sts ?? defaultSts)().catch((error: unknown) => {
      sts = undefined;
      throw error;
    });
    const client = await sts;
    const { AssumeRoleCommand } = await import('@aws-sdk/client-sts');
    assumeRoleCalls += 1;
    let output: AssumeRoleCommandOutput;
    try {
      output = await client.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: options.sessionName,
          DurationSeconds: SESSION_SECONDS,
        }),
      );
    } catch (error) {
      throw new MemberRoleError(accountId, roleArn, errorCode(error), errorMessage(error), { cause: error });
    }
    return sessionCredentials(output, accountId, roleArn, now);
  }

  return {
    get assumeRoleCalls() {
      return assumeRoleCalls;
    },
    async clientsFor(target) {
      if (target.via === 'own') return options.own;
      const roleName = options.memberRoleName;
      if (roleName === undefined) {
        throw new MemberRoleError(
          target.account.accountId,
          '(none)',
          'NoMemberRole',
          'MEMBER_ROLE_NAME is not set',
        );
      }
      const key = `${target.account.partition}:${target.account.accountId}:${target.account.region}`;
      return cachedSession(cache, key, now, async () => {
        const credentials = await assume(target, roleName);
        const clients = createClients({
          ...options.clientOptions,
          region: target.account.region,
          credentials,
        });
        return { clients, expiresAt: credentials.expiration.getTime() - REFRESH_MARGIN_MS };
      });
    },
  };
}

/** The session's credentials; AssumeRole answering without them is the member role's failure. */
function sessionCredentials(
  output: AssumeRoleCommandOutput,
  accountId: string,
  roleArn: string,
  now: () => number,
): SessionCredentials {
  const credentials = output.Credentials;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
    throw new MemberRoleError(accountId, roleArn, 'NoCredentials', 'AssumeRole returned no credentials');
  }
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
    expiration: credentials.Expiration ?? new Date(now() + SESSION_SECONDS * 1000),
  };
}

/**
 * The account's clients while their session lasts. Concurrent requests for one account share one AssumeRole; a
 * failure is forgotten so the next one retries.
 */
function cachedSession(
  cache: Map<string, CacheEntry>,
  key: string,
  now: () => number,
  open: () => Promise<{ clients: AwsClients; expiresAt: number }>,
): Promise<AwsClients> {
  const cached = cache.get(key);
  if (cached !== undefined && cached.expiresAt > now()) return cached.clients;
  const clients = open().then(
    (session) => {
      entry.expiresAt = session.expiresAt;
      return session.clients;
    },
    (error: unknown) => {
      if (cache.get(key) === entry) cache.delete(key);
      throw error;
    },
  );
  const entry: CacheEntry = { clients, expiresAt: Number.POSITIVE_INFINITY };
  cache.set(key, entry);
  return clients;
}
