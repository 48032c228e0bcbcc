/**
 * The event the detector handles once at init, on the canned answers of adapters/warm-up.ts: a second access
 * key for the canned user, so the whole violation path (parse, engine, finding, ASFF validation, the SDK's
 * serializers and parsers) has run once before the first real event.
 */

import { WARM_UP } from '../adapters/warm-up.ts';

/** The partition of the canned account (its context's ARN). */
export const PRIMING_PARTITION = 'aws';

/** A Lambda context in the canned account, so no STS call is needed to find it. */
export const PRIMING_CONTEXT = {
  invokedFunctionArn: `arn:${PRIMING_PARTITION}:lambda:us-east-1:${WARM_UP.accountId}:function:keywarden-warm-up`,
  awsRequestId: 'keywarden-warm-up',
} as const;

const admin = `arn:aws:iam::${WARM_UP.accountId}:user/keywarden-warm-up-admin`;

export const PRIMING_EVENT = {
  version: '0',
  id: 'keywarden-warm-up',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.iam',
  account: WARM_UP.accountId,
  time: '2025-01-02T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAKEYWARDENWARMUP01',
      arn: admin,
      accountId: WARM_UP.accountId,
      accessKeyId: 'AKIAKEYWARDENWARMUP0',
      userName: 'keywarden-warm-up-admin',
    },
    eventTime: '2025-01-02T00:00:00Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: '192.0.2.1',
    userAgent: 'aws-cli/2.0.0',
    requestParameters: { userName: WARM_UP.userName },
    responseElements: {
      accessKey: {
        userName: WARM_UP.userName,
        accessKeyId: WARM_UP.accessKeyIds[1],
        status: 'Active',
        createDate: 'Jan 2, 2025 12:00:00 AM',
      },
    },
    requestID: 'keywarden-warm-up',
    eventID: '00000000-0000-4000-8000-000000000000',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: WARM_UP.accountId,
    eventCategory: 'Management',
  },
} as const;
