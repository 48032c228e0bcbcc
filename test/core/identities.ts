/** CloudTrail callers of every identity type, and the trigger the event parser makes of their key calls. */

import { readFileSync } from 'node:fs';
import type { EventTrigger } from '../../functions/core/attribution.ts';
import { parseKeyEvent } from '../../functions/core/event.ts';

export type Json = Record<string, unknown>;

export const ACCOUNT_ID = '123456789012';
const IDENTITIES = JSON.parse(
  readFileSync(new URL('../fixtures/cloudtrail/user-identity-variants.json', import.meta.url), 'utf8'),
) as Record<string, Json>;
export const IAM_USER = IDENTITIES.IAMUser as Json; // arn:aws:iam::123456789012:user/Alice
export const ASSUMED_ROLE = IDENTITIES.AssumedRole as Json; // assumed-role/RoleToBeAssumed/MySessionName
export const ROOT = IDENTITIES.Root as Json;
// The FederatedUser shape of the CloudTrail userIdentity documentation (GetFederationToken called by Alice).
export const FEDERATED_USER: Json = {
  type: 'FederatedUser',
  principalId: '123456789012:my-federated-user-name',
  arn: 'arn:aws:sts::123456789012:federated-user/my-federated-user-name',
  accountId: '123456789012',
  accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
  sessionContext: {
    sessionIssuer: {
      type: 'IAMUser',
      principalId: 'AIDAJ45Q7YFFAREXAMPLE',
      arn: 'arn:aws:iam::123456789012:user/Alice',
      accountId: '123456789012',
      userName: 'Alice',
    },
    attributes: { creationDate: '2026-06-01T11:50:00Z', mfaAuthenticated: 'false' },
  },
};

export const ROLE = 'arn:aws:iam::123456789012:role/RoleToBeAssumed';
export const ROLE_SESSION = 'arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName';

/** The trigger parseKeyEvent makes of a CreateAccessKey by `identity`; `userName` undefined: the caller's own. */
export function createdBy(identity: Json, userName: string | undefined, extra: Json = {}): EventTrigger {
  const parsed = parseKeyEvent({
    source: 'aws.iam',
    'detail-type': 'AWS API Call via CloudTrail',
    account: ACCOUNT_ID,
    detail: {
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      eventID: 'ev-1',
      eventTime: '2026-06-01T11:59:58Z',
      sourceIPAddress: '203.0.113.7',
      recipientAccountId: ACCOUNT_ID,
      userIdentity: identity,
      requestParameters: userName === undefined ? {} : { userName },
      responseElements: {
        accessKey: {
          accessKeyId: 'AKIANEW0000000000002',
          status: 'Active',
          ...(userName === undefined ? {} : { userName }),
        },
      },
      ...extra,
    },
  });
  if (parsed.kind !== 'target') throw new Error(`expected a target, got ${parsed.reason}`);
  return parsed.trigger;
}
