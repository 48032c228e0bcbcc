/**
 * CloudTrail-shaped EventBridge events for access-key calls, shaped like the real capture in
 * test/fixtures/cloudtrail/eventbridge-create-access-key-iam-user.json. Pure: the caller passes ids and times.
 */

import type { KeyEventName } from '../../functions/shared/constants.ts';

export interface KeyCall {
  readonly eventName: KeyEventName;
  /** The user whose key the call acts on. */
  readonly userName: string;
  readonly accessKeyId: string;
  /** UpdateAccessKey only: the status asked for. */
  readonly status?: 'Active' | 'Inactive';
  readonly accountId: string;
  readonly region: string;
  /** The IAM user who made the call. */
  readonly actorUserName: string;
  /** Set when a role session made the call instead (its role, CloudTrail's sessionIssuer), e.g. KeyWarden's own. */
  readonly actorRoleArn?: string;
  readonly eventTime: Date;
  /** Unique per API call (CloudTrail's eventID). */
  readonly eventId: string;
  readonly userAgent?: string;
  /** Set for a call IAM refused: CloudTrail records it with the error and no response. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** The `detail` of an EventBridge "AWS API Call via CloudTrail" event: the CloudTrail record. */
export interface CloudTrailRecord {
  readonly eventVersion: string;
  readonly userIdentity: Readonly<Record<string, unknown>>;
  readonly eventTime: string;
  readonly eventSource: 'iam.amazonaws.com';
  readonly eventName: KeyEventName;
  readonly awsRegion: string;
  readonly sourceIPAddress: string;
  readonly userAgent: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestParameters: Readonly<Record<string, string>> | null;
  readonly responseElements: Readonly<Record<string, unknown>> | null;
  readonly requestID: string;
  readonly eventID: string;
  readonly readOnly: false;
  readonly eventType: 'AwsApiCall';
  readonly managementEvent: true;
  readonly recipientAccountId: string;
  readonly eventCategory: 'Management';
}

/** What EventBridge delivers to a rule target. */
export interface KeyEventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'AWS API Call via CloudTrail';
  readonly source: 'aws.iam';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: CloudTrailRecord;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** CloudTrail's display form of `responseElements.accessKey.createDate`, e.g. `Jul 30, 2024 9:53:13 PM` (UTC). */
export function displayDate(date: Date): string {
  const hours = date.getUTCHours();
  const twelve = hours % 12 === 0 ? 12 : hours % 12;
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()} ${twelve}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

/** CloudTrail's ISO form, to the second: `2024-07-30T21:53:13Z`. */
export function trailTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function requestParameters(call: KeyCall): Record<string, string> {
  switch (call.eventName) {
    case 'CreateAccessKey':
      return { userName: call.userName };
    case 'UpdateAccessKey':
      return { userName: call.userName, accessKeyId: call.accessKeyId, status: call.status ?? 'Inactive' };
    case 'DeleteAccessKey':
      return { userName: call.userName, accessKeyId: call.accessKeyId };
  }
}

function responseElements(call: KeyCall): Record<string, unknown> | null {
  if (call.error !== undefined || call.eventName !== 'CreateAccessKey') return null;
  return {
    accessKey: {
      accessKeyId: call.accessKeyId,
      createDate: displayDate(call.eventTime),
      status: 'Active',
      userName: call.userName,
    },
  };
}

function userIdentity(call: KeyCall): Record<string, unknown> {
  if (call.actorRoleArn === undefined) {
    return {
      type: 'IAMUser',
      principalId: 'AIDADEMOKEYWARDEN0001',
      arn: `arn:aws:iam::${call.accountId}:user/${call.actorUserName}`,
      accountId: call.accountId,
      accessKeyId: 'ASIADEMOKEYWARDEN001',
      userName: call.actorUserName,
    };
  }
  const roleName = call.actorRoleArn.split('/').pop() ?? 'role';
  return {
    type: 'AssumedRole',
    principalId: `AROADEMOKEYWARDEN0001:${call.actorUserName}`,
    arn: `arn:aws:sts::${call.accountId}:assumed-role/${roleName}/${call.actorUserName}`,
    accountId: call.accountId,
    accessKeyId: 'ASIADEMOKEYWARDEN002',
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: 'AROADEMOKEYWARDEN0001',
        arn: call.actorRoleArn,
        accountId: call.accountId,
        userName: roleName,
      },
      attributes: { creationDate: trailTime(call.eventTime), mfaAuthenticated: 'false' },
    },
  };
}

/** The CloudTrail record of one access-key call. */
export function cloudTrailRecord(call: KeyCall): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: userIdentity(call),
    eventTime: trailTime(call.eventTime),
    eventSource: 'iam.amazonaws.com',
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: '198.51.100.7',
    userAgent: call.userAgent ?? 'aws-cli/2.17.0 md/Botocore#1.34.0 ua/2.0 os/linux',
    ...(call.error !== undefined ? { errorCode: call.error.code, errorMessage: call.error.message } : {}),
    requestParameters: requestParameters(call),
    responseElements: responseElements(call),
    requestID: `req-${call.eventId}`,
    eventID: call.eventId,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: call.accountId,
    eventCategory: 'Management',
  };
}

/** The event as a rule target receives it (what the detector's handler is invoked with). */
export function keyEventEnvelope(call: KeyCall, id: string): KeyEventEnvelope {
  return {
    version: '0',
    id,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: call.accountId,
    time: trailTime(call.eventTime),
    region: call.region,
    resources: [],
    detail: cloudTrailRecord(call),
  };
}

/** A `PutEvents` entry that makes EventBridge deliver {@link keyEventEnvelope} to matching rules. */
export function putEventsEntry(call: KeyCall, eventBusName: string) {
  return {
    EventBusName: eventBusName,
    Source: 'aws.iam',
    DetailType: 'AWS API Call via CloudTrail',
    Detail: JSON.stringify(cloudTrailRecord(call)),
    Time: call.eventTime,
    Resources: [],
  };
}
