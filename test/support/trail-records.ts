/**
 * CloudTrail records for the test proxy's LookupEvents, which moto does not implement (it answers 500): records
 * shaped like the fixture of a real UpdateAccessKey, and LookupEvents' filtering, ordering and paging.
 */

import { readFileSync } from 'node:fs';

/** A CloudTrail record, as LookupEvents carries it (JSON) in each event's `CloudTrailEvent`. */
export type TrailRecord = Record<string, unknown> & {
  readonly eventID: string;
  readonly eventName: string;
  readonly eventTime: string;
};

const TEMPLATE = JSON.parse(
  readFileSync(
    new URL('../fixtures/cloudtrail/record-update-access-key-deactivate-assumed-role.json', import.meta.url),
    'utf8',
  ),
) as TrailRecord;

/** Who made a call: an assumed role (its role ARN and session name) or an IAM user (its ARN). */
export type Caller =
  | { readonly roleArn: string; readonly sessionName: string }
  | { readonly userArn: string };

/** The `userIdentity` CloudTrail writes for `caller`. */
export function userIdentity(caller: Caller): Record<string, unknown> {
  if ('userArn' in caller) {
    const [, , , , accountId, resource] = caller.userArn.split(':');
    return {
      type: 'IAMUser',
      principalId: 'AIDAXXXXXXXXXXXXXXXXX',
      arn: caller.userArn,
      accountId,
      accessKeyId: 'AKIAXXXXXXXXXXXXXXXX',
      userName: resource?.split('/').pop(),
    };
  }
  const [, partition, , , accountId, resource = ''] = caller.roleArn.split(':');
  const roleName = resource.split('/').pop() as string;
  const template = TEMPLATE.userIdentity as Record<string, unknown>;
  const sessionContext = template.sessionContext as Record<string, unknown>;
  return {
    ...template,
    principalId: `AROAXXXXXXXXXXXXXXXXX:${caller.sessionName}`,
    arn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${caller.sessionName}`,
    accountId,
    sessionContext: {
      ...sessionContext,
      sessionIssuer: {
        ...(sessionContext.sessionIssuer as Record<string, unknown>),
        arn: caller.roleArn,
        accountId,
        userName: roleName,
      },
    },
  };
}

let sequence = 0;

/** An UpdateAccessKey record: `caller` set `accessKeyId` of `userName` to `status` at `eventTime`. */
export function updateAccessKeyRecord(input: {
  readonly caller: Caller;
  readonly userName: string;
  readonly accessKeyId: string;
  readonly status: 'Active' | 'Inactive';
  readonly eventTime: Date;
  readonly accountId?: string;
  readonly errorCode?: string;
}): TrailRecord {
  sequence += 1;
  const suffix = String(sequence).padStart(12, '0');
  const identity = userIdentity(input.caller);
  return {
    ...TEMPLATE,
    userIdentity: identity,
    eventTime: input.eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    requestParameters: { userName: input.userName, accessKeyId: input.accessKeyId, status: input.status },
    requestID: `5b2e9c1d-3f7a-4c8e-9d21-${suffix}`,
    eventID: `9e8d7c6b-5a49-4838-a726-${suffix}`,
    recipientAccountId: input.accountId ?? (identity.accountId as string),
    ...(input.errorCode === undefined
      ? {}
      : { errorCode: input.errorCode, errorMessage: 'injected', requestParameters: null }),
  };
}

interface LookupRequest {
  readonly LookupAttributes?: { AttributeKey?: string; AttributeValue?: string }[];
  readonly StartTime?: number;
  readonly EndTime?: number;
  readonly MaxResults?: number;
  readonly NextToken?: string;
}

const LOOKUP_ATTRIBUTES = ['EventId', 'EventName', 'EventSource', 'ReadOnly', 'AccessKeyId', 'Username'];

/** The value a lookup attribute compares, per LookupEvents' documented attribute keys. */
function attributeOf(record: TrailRecord, key: string): string | undefined {
  const identity = (record.userIdentity ?? {}) as Record<string, unknown>;
  switch (key) {
    case 'EventId':
      return record.eventID;
    case 'EventName':
      return record.eventName;
    case 'EventSource':
      return record.eventSource as string;
    case 'ReadOnly':
      return String(record.readOnly);
    case 'AccessKeyId':
      // The credentials that signed the call, not a key the call acted on.
      return identity.accessKeyId as string;
    case 'Username':
      return (
        (identity.userName as string) ??
        String(identity.arn ?? '')
          .split('/')
          .pop()
      );
    default:
      return undefined;
  }
}

/** What LookupEvents answers for `request` over `records`: newest first, at most 50 a page, with NextToken. */
export function lookupEvents(
  records: readonly TrailRecord[],
  request: LookupRequest,
): { status: number; body: Record<string, unknown> } {
  const attributes = request.LookupAttributes ?? [];
  if (attributes.length > 1)
    return {
      status: 400,
      body: { __type: 'InvalidLookupAttributesException', message: 'only one lookup attribute' },
    };
  const [attribute] = attributes;
  if (attribute !== undefined && !LOOKUP_ATTRIBUTES.includes(attribute.AttributeKey ?? ''))
    return {
      status: 400,
      body: { __type: 'InvalidLookupAttributesException', message: String(attribute.AttributeKey) },
    };
  const pageSize = Math.min(request.MaxResults ?? 50, 50);
  const start = request.StartTime === undefined ? Number.NEGATIVE_INFINITY : request.StartTime * 1000;
  const end = request.EndTime === undefined ? Number.POSITIVE_INFINITY : request.EndTime * 1000;
  const selected = records
    .filter((record) => {
      const at = Date.parse(record.eventTime);
      if (at < start || at > end) return false;
      return (
        attribute === undefined ||
        attributeOf(record, attribute.AttributeKey ?? '') === attribute.AttributeValue
      );
    })
    .sort((a, b) => Date.parse(b.eventTime) - Date.parse(a.eventTime));
  const offset = request.NextToken === undefined ? 0 : Number(request.NextToken);
  const page = selected.slice(offset, offset + pageSize);
  const next = offset + pageSize < selected.length ? String(offset + pageSize) : undefined;
  return {
    status: 200,
    body: {
      Events: page.map((record) => {
        const identity = (record.userIdentity ?? {}) as Record<string, unknown>;
        const parameters = (record.requestParameters ?? {}) as Record<string, unknown>;
        return {
          EventId: record.eventID,
          EventName: record.eventName,
          ReadOnly: String(record.readOnly),
          AccessKeyId: identity.accessKeyId,
          // JSON 1.1 timestamps are epoch seconds.
          EventTime: Date.parse(record.eventTime) / 1000,
          EventSource: record.eventSource,
          Username: attributeOf(record, 'Username'),
          Resources: [
            ...(parameters.accessKeyId
              ? [{ ResourceType: 'AWS::IAM::AccessKey', ResourceName: parameters.accessKeyId }]
              : []),
            ...(parameters.userName
              ? [{ ResourceType: 'AWS::IAM::User', ResourceName: parameters.userName }]
              : []),
          ],
          CloudTrailEvent: JSON.stringify(record),
        };
      }),
      ...(next === undefined ? {} : { NextToken: next }),
    },
  };
}

/** What an application's calls signed with one key look like in CloudTrail: who, from where, with what. */
export interface KeyUse {
  readonly accessKeyId: string;
  readonly userName: string;
  readonly accountId?: string;
  /** How many management events; spread `spacingMs` apart (default a minute), newest `endedAt`. */
  readonly calls: number;
  readonly endedAt: Date;
  readonly spacingMs?: number;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly eventSource?: string;
  readonly eventName?: string;
  /** The Region the calls were made in (each Region's event history holds its own). */
  readonly region?: string;
}

/** The management events an application signed with a key, as CloudTrail records them. */
export function keyUseRecords(use: KeyUse): TrailRecord[] {
  const accountId = use.accountId ?? '123456789012';
  const eventSource = use.eventSource ?? 'ec2.amazonaws.com';
  return Array.from({ length: use.calls }, (_, index) => ({
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLEAPPUSER01',
      arn: `arn:aws:iam::${accountId}:user/${use.userName}`,
      accountId,
      accessKeyId: use.accessKeyId,
      userName: use.userName,
    },
    eventTime: new Date(use.endedAt.getTime() - index * (use.spacingMs ?? 60_000))
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z'),
    eventSource,
    eventName: use.eventName ?? 'DescribeInstances',
    awsRegion: use.region ?? 'us-east-1',
    sourceIPAddress: use.sourceIp ?? '198.51.100.10',
    userAgent: use.userAgent ?? 'payments-api/3.1 aws-sdk-java/2.25.0',
    requestParameters: null,
    responseElements: null,
    requestID: `req-${use.accessKeyId}-${index}`,
    eventID: `ev-${use.accessKeyId}-${index}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  }));
}
