/** Small builders for the core's domain values; every test states the fields it cares about. */

import type { EvaluationPolicy } from '../../functions/core/evaluate.ts';
import type {
  AccessKey,
  AccountContext,
  IamUser,
  Trigger,
  UserSnapshot,
} from '../../functions/core/types.ts';

export const ACCOUNT: AccountContext = { accountId: '123456789012', partition: 'aws', region: 'us-east-1' };
export const NOW = new Date('2026-06-01T12:00:00.000Z');

export const POLICY: EvaluationPolicy = {
  keepKey: 'newest',
  exemptTag: 'keywarden:exempt',
  rotationGraceHours: 0,
};

export interface KeyOptions {
  readonly status?: string;
  /** ISO time of last use; null for never used; absent for "not read". */
  readonly lastUsed?: string | null;
  readonly service?: string;
  readonly region?: string;
}

export function key(accessKeyId: string, created: string, options: KeyOptions = {}): AccessKey {
  const base = { accessKeyId, status: options.status ?? 'Active', createDate: new Date(created) };
  if (options.lastUsed === undefined) return base;
  return {
    ...base,
    lastUsed:
      options.lastUsed === null
        ? { date: undefined, serviceName: undefined, region: undefined }
        : {
            date: new Date(options.lastUsed),
            serviceName: options.service ?? 's3',
            region: options.region ?? 'eu-west-1',
          },
  };
}

export function user(overrides: Partial<IamUser> = {}): IamUser {
  const userName = overrides.userName ?? 'alice';
  const path = overrides.path ?? '/';
  return {
    userName,
    userId: 'AIDAEXAMPLEUSERID0001',
    arn: `arn:aws:iam::123456789012:user${path}${userName}`,
    path,
    createDate: new Date('2024-01-01T00:00:00.000Z'),
    tags: {},
    ...overrides,
  };
}

export function snapshot(keys: readonly AccessKey[], overrides: Partial<IamUser> = {}): UserSnapshot {
  return { user: user(overrides), keys };
}

export const EVENT_TRIGGER: Extract<Trigger, { kind: 'event' }> = {
  kind: 'event',
  eventName: 'CreateAccessKey',
  eventId: 'c64c4ded-ef03-4e5c-81eb-153b118d72f2',
  eventTime: '2026-06-01T11:59:58Z',
  actorArn: 'arn:aws:iam::123456789012:user/admin',
  actorType: 'IAMUser',
  actorIssuerArn: '',
  actorUserName: 'admin',
  actorAccountId: '123456789012',
  actorMfa: undefined,
  sourceIp: '203.0.113.7',
  userAgent: 'aws-cli/2.15.0',
  accessKeyId: 'AKIANEW0000000000002',
};

export const SWEEP_TRIGGER: Trigger = { kind: 'sweep', origin: 'schedule' };

/** The old key (used last week) and the new key (created a minute ago, never used). */
export const OLD_KEY = key('AKIAOLD0000000000001', '2026-01-10T08:00:00.000Z', {
  lastUsed: '2026-05-25T09:30:00.000Z',
  service: 's3',
  region: 'eu-west-1',
});
export const NEW_KEY = key('AKIANEW0000000000002', '2026-06-01T11:59:00.000Z', { lastUsed: null });
