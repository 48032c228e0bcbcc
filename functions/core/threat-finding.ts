/**
 * The threat finding for an access key that another, untrusted principal created or re-activated (MITRE ATT&CK
 * T1098.001, "Additional Cloud Credentials"): one per key, apart from the user's CIS 1.13 finding, raised whether
 * or not 1.13 holds. It stays open while the key is active and is resolved when the key is switched off or deleted.
 * Pure: the caller passes the time.
 */

import type { Action, Compliance, Resource } from '@aws-sdk/client-securityhub';
import {
  type EventTrigger,
  type KeyGrant,
  type KeyOrigin,
  type Minter,
  principalKind,
} from './attribution.ts';
import { type Finding, productArnFor, threatFindingIdFor, updateCommand } from './finding.ts';
import { type AccessKey, type AccountContext, type IamUser, isActive, type Trigger } from './types.ts';

export const THREAT_GENERATOR_ID = 'keywarden/mitre-attack/T1098.001';
// ASFF threat types live in the TTPs namespace; the classifier is free text and names the ATT&CK sub-technique.
export const THREAT_FINDING_TYPE =
  'TTPs/Persistence/T1098.001-Account Manipulation: Additional Cloud Credentials';
export const THREAT_REFERENCE_URL = 'https://attack.mitre.org/techniques/T1098/001/';
const FIELD = 'keywarden/threat';
export const THREAT_KEY_FIELD = `${FIELD}/accessKeyId`;
export const THREAT_USER_NAME_FIELD = `${FIELD}/userName`;

export { threatFindingIdFor };

/** What the finding records about one minting call; everything a later resolution needs to rebuild it. */
export interface ThreatRecord {
  /** The user as IAM calls it now: a rename since the call is followed by the key's id. */
  readonly userName: string;
  /** The user's name at the time of the call, when it was renamed since; undefined otherwise. */
  readonly userNameAtCall?: string | undefined;
  readonly userArn: string;
  readonly userId: string;
  readonly accessKeyId: string;
  /** ISO time IAM gives for the key's creation; '' when the key was no longer listed. */
  readonly keyCreatedAt: string;
  readonly how: KeyGrant['how'];
  readonly eventName: string;
  readonly eventId: string;
  readonly eventTime: string;
  readonly actorArn: string;
  readonly actorType: string;
  readonly actorIssuerArn: string;
  readonly actorAccountId: string;
  readonly actorMfa: boolean | undefined;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** The user's active keys right after the call, as IAM listed them. */
  readonly activeKeysAfterCall: readonly string[];
  /** When the finding was first raised (the event time when it is a valid timestamp). */
  readonly createdAt: string;
}

/** The key's state now: `active` keeps the finding open; `inactive` resolves it; `deleted` also archives it. */
export type ThreatState =
  | { readonly key: 'active' }
  | { readonly key: 'inactive' | 'deleted'; readonly by: string; readonly at: Date };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// A CloudTrail sourceIPAddress that is a service's domain (`cloudformation.amazonaws.com`), not an address.
const DOMAIN = /^(?=.{1,128}$)([a-z0-9-]+\.)+[a-z]{2,}$/i;

const iso = (date: Date): string => date.toISOString();
const isIso = (text: string): boolean => ISO.test(text) && !Number.isNaN(Date.parse(text));

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The record of a minting call, from the event and IAM's listing read after it. */
export function threatRecordFromEvent(input: {
  readonly trigger: EventTrigger;
  readonly grant: KeyGrant;
  readonly user: IamUser;
  /** The user's keys as IAM listed them after the event, before any action of KeyWarden's. */
  readonly keys: readonly AccessKey[];
  readonly now: Date;
}): ThreatRecord {
  const { trigger, grant, user, keys, now } = input;
  const key = keys.find((k) => k.accessKeyId === grant.accessKeyId);
  // The event time is when the key was minted; a time ahead of this clock (skew) would make CreatedAt > UpdatedAt.
  const createdAt =
    isIso(trigger.eventTime) && Date.parse(trigger.eventTime) <= now.getTime() ? trigger.eventTime : iso(now);
  return {
    userName: user.userName,
    userArn: user.arn,
    userId: user.userId,
    accessKeyId: grant.accessKeyId,
    keyCreatedAt: key === undefined ? '' : iso(key.createDate),
    how: grant.how,
    eventName: trigger.eventName,
    eventId: trigger.eventId,
    eventTime: trigger.eventTime,
    actorArn: trigger.actorArn,
    actorType: trigger.actorType,
    actorIssuerArn: trigger.actorIssuerArn,
    actorAccountId: trigger.actorAccountId,
    actorMfa: trigger.actorMfa,
    sourceIp: trigger.sourceIp,
    userAgent: trigger.userAgent,
    activeKeysAfterCall: keys.filter(isActive).map((k) => k.accessKeyId),
    createdAt,
  };
}

/**
 * The record of a call whose user was renamed since: the key (and its finding, keyed by the key id) stays, the user
 * it names is the one IAM lists the key under now. The name at the time of the call is kept.
 */
export function renamedThreatRecord(record: ThreatRecord, holder: IamUser): ThreatRecord {
  if (record.userName === holder.userName) return record;
  return {
    ...record,
    userNameAtCall: record.userNameAtCall ?? record.userName,
    userName: holder.userName,
    userArn: holder.arn,
    userId: holder.userId || record.userId,
  };
}

const mfaText = (mfa: boolean | undefined): string =>
  mfa === undefined ? 'not recorded' : mfa ? 'yes' : 'no';

function titleOf(record: ThreatRecord, state: ThreatState): string {
  const base = `Access key ${record.accessKeyId} of IAM user ${record.userName} was ${record.how} by another principal: ${record.actorArn || 'unknown caller'}`;
  if (state.key === 'inactive') return `${base} (key now inactive)`;
  if (state.key === 'deleted') return `${base} (key deleted)`;
  return base;
}

/** The story of the call, shared by the open and the resolved finding. */
function storyOf(record: ThreatRecord): string {
  const caller = `${record.actorArn || 'an unknown caller'} (${record.actorType || 'Unknown'}, ${principalKind(record.actorType)})`;
  const issuer = record.actorIssuerArn ? `, session of ${record.actorIssuerArn}` : '';
  const after = record.activeKeysAfterCall.length === 0 ? 'none' : record.activeKeysAfterCall.join(', ');
  return [
    `${record.eventName} by ${caller}${issuer} ${record.how === 'created' ? 'created' : 're-activated'} access key ${record.accessKeyId} of IAM user ${record.userName} (${record.userArn})${record.userNameAtCall ? `, then named ${record.userNameAtCall}` : ''}.`,
    `The caller is neither that user nor a trusted key issuer (TRUSTED_KEY_ISSUERS).`,
    `Source IP ${record.sourceIp || 'unknown'}; MFA authenticated: ${mfaText(record.actorMfa)}; user agent "${record.userAgent || 'unknown'}" (written by the client, proves nothing).`,
    `Event ${record.eventId || 'unknown'} at ${record.eventTime || 'unknown time'}.`,
    `Active keys of ${record.userName} after the call: ${after}.`,
    'Creating or re-activating a key for another identity is a persistence technique (MITRE ATT&CK T1098.001).',
  ].join(' ');
}

function stateLine(record: ThreatRecord, state: ThreatState): string {
  switch (state.key) {
    case 'active':
      return `Key ${record.accessKeyId} is active.`;
    case 'inactive':
      return `Key ${record.accessKeyId} is inactive since ${iso(state.at)} (${state.by}).`;
    case 'deleted':
      return `Key ${record.accessKeyId} was deleted by ${iso(state.at)} (${state.by}).`;
  }
}

function recommendationOf(record: ThreatRecord, state: ThreatState): string {
  const caller = record.actorArn || 'the caller';
  // The command first: the caller's ARN can be long, and truncation must never cut the command.
  if (state.key === 'active') {
    return `Switch off ${record.accessKeyId} unless this hand-off was expected: ${updateCommand(record.userName, record.accessKeyId, 'Inactive')}. Then review the other calls and the credentials of ${caller} in CloudTrail. If it hands out keys legitimately, add it to TRUSTED_KEY_ISSUERS.`;
  }
  return `Key ${record.accessKeyId} is no longer usable. Review the other calls and the credentials of ${caller} in CloudTrail: it could create or re-activate keys.`;
}

function actionOf(record: ThreatRecord): Action {
  const seen = isIso(record.eventTime) ? { FirstSeen: record.eventTime, LastSeen: record.eventTime } : {};
  const origin = IPV4.test(record.sourceIp)
    ? { CallerType: 'remoteip', RemoteIpDetails: { IpAddressV4: record.sourceIp } }
    : DOMAIN.test(record.sourceIp)
      ? { CallerType: 'domain', DomainDetails: { Domain: record.sourceIp } }
      : {};
  return {
    ActionType: 'AWS_API_CALL',
    AwsApiCallAction: {
      Api: truncate(record.eventName, 128),
      ServiceName: 'iam.amazonaws.com',
      ...origin,
      ...seen,
    },
  };
}

function fieldsOf(record: ThreatRecord, state: ThreatState): Record<string, string> {
  const fields: Record<string, string> = {
    [THREAT_USER_NAME_FIELD]: record.userName,
    [`${FIELD}/userArn`]: record.userArn,
    [`${FIELD}/userNameAtCall`]: record.userNameAtCall ?? '',
    [`${FIELD}/userId`]: record.userId,
    [THREAT_KEY_FIELD]: record.accessKeyId,
    [`${FIELD}/keyCreatedAt`]: record.keyCreatedAt,
    [`${FIELD}/how`]: record.how,
    [`${FIELD}/eventName`]: record.eventName,
    [`${FIELD}/eventId`]: record.eventId,
    [`${FIELD}/eventTime`]: record.eventTime,
    [`${FIELD}/actorArn`]: record.actorArn,
    [`${FIELD}/actorType`]: record.actorType,
    [`${FIELD}/actorKind`]: principalKind(record.actorType),
    [`${FIELD}/actorIssuerArn`]: record.actorIssuerArn,
    [`${FIELD}/actorAccountId`]: record.actorAccountId,
    [`${FIELD}/actorMfa`]: record.actorMfa === undefined ? 'unknown' : String(record.actorMfa),
    [`${FIELD}/sourceIp`]: record.sourceIp,
    [`${FIELD}/userAgent`]: record.userAgent,
    [`${FIELD}/activeKeysAfterCall`]: record.activeKeysAfterCall.join(',') || 'none',
    [`${FIELD}/keyState`]: state.key,
  };
  if (state.key !== 'active') {
    fields[`${FIELD}/resolvedAt`] = iso(state.at);
    fields[`${FIELD}/resolvedBy`] = state.by;
  }
  // ProductFields values must be 1 to 2048 characters.
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, value]) => value !== '')
      .map(([key, value]) => [key, truncate(value, 2048)]),
  );
}

/** The threat finding for `record` with the key in `state`. */
export function buildThreatFinding(
  account: AccountContext,
  record: ThreatRecord,
  state: ThreatState,
  updatedAt: Date,
): Finding {
  // The severity describes the call, which stays what it was when the key is switched off.
  const severity = { Label: 'HIGH' as const, Original: 'HIGH' };
  const types = [THREAT_FINDING_TYPE];
  return {
    SchemaVersion: '2018-10-08',
    Id: threatFindingIdFor(account.accountId, record.accessKeyId),
    ProductArn: productArnFor(account),
    ProductName: 'KeyWarden',
    CompanyName: 'KeyWarden',
    GeneratorId: THREAT_GENERATOR_ID,
    AwsAccountId: account.accountId,
    Region: account.region,
    Types: types,
    CreatedAt: record.createdAt,
    FirstObservedAt: record.createdAt,
    UpdatedAt: iso(updatedAt),
    LastObservedAt: iso(updatedAt),
    Severity: severity,
    // On updates Security Hub takes severity and types from FindingProviderFields.
    FindingProviderFields: { Severity: severity, Types: types },
    Title: truncate(titleOf(record, state), 256),
    // The state first, so truncation never hides it.
    Description: truncate(`${stateLine(record, state)} ${storyOf(record)}`, 1024),
    Remediation: {
      Recommendation: { Text: truncate(recommendationOf(record, state), 512), Url: THREAT_REFERENCE_URL },
    },
    ProductFields: fieldsOf(record, state),
    Action: actionOf(record),
    Resources: threatResources(account, record, state),
    Compliance: threatCompliance(record, state),
    RecordState: state.key === 'deleted' ? 'ARCHIVED' : 'ACTIVE',
  };
}

/** The key, as IAM last showed it, and its user. */
function threatResources(account: AccountContext, record: ThreatRecord, state: ThreatState): Resource[] {
  const open = state.key === 'active';
  const partition = account.partition as 'aws';
  const keyDetails = {
    AccessKeyId: record.accessKeyId,
    ...(state.key === 'deleted' ? {} : { Status: open ? ('Active' as const) : ('Inactive' as const) }),
    ...(record.keyCreatedAt ? { CreatedAt: record.keyCreatedAt } : {}),
    PrincipalId: record.userId,
    PrincipalName: record.userName,
    PrincipalType: 'IAMUser',
    AccountId: account.accountId,
  };
  return [
    {
      Type: 'AwsIamAccessKey',
      Id: `AWS::IAM::AccessKey:${record.accessKeyId}`,
      Partition: partition,
      Region: account.region,
      Details: { AwsIamAccessKey: keyDetails },
    },
    {
      Type: 'AwsIamUser',
      Id: record.userArn,
      Partition: partition,
      Region: account.region,
      Details: { AwsIamUser: { UserName: record.userName, UserId: record.userId } },
    },
  ];
}

/** FAILED while the minted key is active; PASSED once it is inactive or gone, saying which. */
function threatCompliance(record: ThreatRecord, state: ThreatState): Compliance {
  const open = state.key === 'active';
  return {
    Status: open ? 'FAILED' : 'PASSED',
    StatusReasons: [
      open
        ? {
            ReasonCode: 'KEY_MINTED_BY_ANOTHER_PRINCIPAL',
            Description: truncate(
              `${record.how} by ${record.actorArn || 'an unknown caller'}, not a trusted key issuer`,
              2048,
            ),
          }
        : {
            ReasonCode: state.key === 'deleted' ? 'KEY_DELETED' : 'KEY_INACTIVE',
            Description: truncate(stateLine(record, state), 2048),
          },
    ],
  };
}

/** The record a stored threat finding carries, or undefined when it is not one of KeyWarden's threat findings. */
export function threatRecordOf(finding: Finding): ThreatRecord | undefined {
  if (finding.GeneratorId !== THREAT_GENERATOR_ID) return undefined;
  const fields = finding.ProductFields ?? {};
  const field = (name: string): string => fields[`${FIELD}/${name}`] ?? '';
  const accessKeyId = field('accessKeyId');
  const userName = field('userName');
  const how = field('how');
  if (accessKeyId === '' || userName === '' || (how !== 'created' && how !== 're-activated'))
    return undefined;
  const mfa = field('actorMfa');
  const after = field('activeKeysAfterCall');
  return {
    userName,
    ...(field('userNameAtCall') ? { userNameAtCall: field('userNameAtCall') } : {}),
    userArn: field('userArn'),
    userId: field('userId'),
    accessKeyId,
    keyCreatedAt: field('keyCreatedAt'),
    how,
    eventName: field('eventName'),
    eventId: field('eventId'),
    eventTime: field('eventTime'),
    actorArn: field('actorArn'),
    actorType: field('actorType'),
    actorIssuerArn: field('actorIssuerArn'),
    actorAccountId: field('actorAccountId'),
    actorMfa: mfa === 'true' ? true : mfa === 'false' ? false : undefined,
    sourceIp: field('sourceIp'),
    userAgent: field('userAgent'),
    activeKeysAfterCall: after === '' || after === 'none' ? [] : after.split(','),
    createdAt: finding.CreatedAt ?? '',
  };
}

/** Whether a stored threat finding is still open (its key was active when it was last written). */
export function isOpenThreat(finding: Finding): boolean {
  return (
    finding.GeneratorId === THREAT_GENERATOR_ID &&
    finding.RecordState === 'ACTIVE' &&
    finding.Compliance?.Status === 'FAILED'
  );
}

/** What an open threat finding says about who made its key usable (for KEEP_KEY=auto and the 1.13 finding). */
export function originOfThreat(finding: Finding): KeyOrigin | undefined {
  const record = threatRecordOf(finding);
  if (record === undefined || !isOpenThreat(finding)) return undefined;
  return {
    accessKeyId: record.accessKeyId,
    how: record.how,
    minter: 'another-principal',
    actorArn: record.actorArn,
    actorType: record.actorType,
    eventTime: record.eventTime,
  };
}

/** Words for what resolved a threat finding: the event and its caller, or the sweep. */
export function resolvedByOf(trigger: Trigger): string {
  if (trigger.kind === 'sweep') return `found by the ${trigger.origin === 'cli' ? 'CLI' : 'scheduled'} sweep`;
  return `${trigger.eventName} by ${trigger.actorArn || 'an unknown caller'}${trigger.eventId ? `, event ${trigger.eventId}` : ''}`;
}

/** Narrows a minter to the case that raises a threat finding. */
export const raisesThreat = (minter: Minter): minter is Extract<Minter, { kind: 'another-principal' }> =>
  minter.kind === 'another-principal';
