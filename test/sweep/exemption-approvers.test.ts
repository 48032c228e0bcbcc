/**
 * The sweep with exemption approvers, against moto: a finding's record proves nothing (anyone with
 * securityhub:BatchImportFindings can write one); who set an exemption is proven from CloudTrail LookupEvents, read
 * once per sweep (moto lacks it: the proxy serves realistic records).
 */

import { readFileSync } from 'node:fs';
import { GetUserCommand } from '@aws-sdk/client-iam';
import { BatchImportFindingsCommand } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import { buildFinding, findingIdFor } from '../../functions/core/finding.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { createSweepHandler } from '../../functions/sweep/handler.ts';
import { ACCOUNT_ID, CONTEXT, type IsolatedAws, REGION, startIsolatedAws } from './moto-fixture.ts';

const TAG = 'keywarden:exempt';
const APPROVER_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/security-admin`;
const FIELD = 'keywarden/detector';
const TAG_RECORD = JSON.parse(
  readFileSync(new URL('../fixtures/cloudtrail/record-tag-user-assumed-role.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const idOf = (userName: string): string => findingIdFor(ACCOUNT_ID, userName);

let aws: IsolatedAws;

beforeAll(async () => {
  aws = await startIsolatedAws();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.stop();
});
beforeEach(async () => {
  await aws.reset();
  // The sweep builds its LookupEvents client from the environment, as on Lambda.
  vi.stubEnv('AWS_ENDPOINT_URL', aws.proxy.endpoint);
  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});

function sweep(env: Record<string, string>) {
  return createSweepHandler({
    config: loadConfig(env),
    clients: aws.clients(),
    cloudTrail: aws.cloudTrail(),
    logger: createLogger('keywarden-sweep-exemption-test', 'SILENT'),
    sleep: async () => {},
  });
}

/** What a forger imports: a WARNING finding whose record says an approver exempted `userName`. */
async function forgeApprovedFinding(userName: string): Promise<void> {
  const now = new Date();
  const user = (await aws.iam.send(new GetUserCommand({ UserName: userName }))).User;
  const snapshot = {
    user: {
      userName,
      userId: user?.UserId ?? '',
      arn: user?.Arn ?? '',
      path: '/',
      createDate: user?.CreateDate ?? now,
      tags: { [TAG]: 'true' },
    },
    keys: [
      { accessKeyId: 'AKIAFORGED0000000001', status: 'Active', createDate: now },
      { accessKeyId: 'AKIAFORGED0000000002', status: 'Active', createDate: now },
    ],
  };
  const setting = {
    setterArn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/security-admin/jane`,
    setterIssuerArn: APPROVER_ROLE,
    setterType: 'AssumedRole',
    setAt: new Date(now.getTime() - 86_400_000),
    value: 'true',
    eventId: 'forged-event',
    source: 'cloudtrail' as const,
  };
  const evaluation = evaluateUser(
    userName,
    snapshot,
    { keepKey: 'newest', exemptTag: TAG, rotationGraceHours: 0, exemptionApprovers: [APPROVER_ROLE] },
    now,
    undefined,
    { kind: 'proven', setting },
  );
  if (evaluation.verdict !== 'exempt') throw new Error('the forged finding must be an exemption');
  const forged = buildFinding({
    account: { accountId: ACCOUNT_ID, partition: 'aws', region: REGION },
    evaluation,
    action: { kind: 'none' },
    trigger: { kind: 'sweep', origin: 'schedule' },
    updatedAt: new Date(now.getTime() - 60_000),
  });
  await aws.securityHub.send(new BatchImportFindingsCommand({ Findings: [forged] }));
}

describe('sweep with exemption approvers against moto', () => {
  it('honours an exemption CloudTrail proves an approver set, and refuses a forged record without evidence', async () => {
    // Prepare: two tagged users with two keys each; CloudTrail holds the approver's TagUser of one of them only.
    await aws.seed([
      { userName: 'approved', activeKeys: 2, tags: { [TAG]: 'true' } },
      { userName: 'forged', activeKeys: 2, tags: { [TAG]: 'true' } },
    ]);
    await forgeApprovedFinding('forged');
    const setAt = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    aws.proxy.serveLookupEvents([
      {
        ...TAG_RECORD,
        eventTime: setAt,
        eventID: 'ev-approved',
        requestParameters: { userName: 'approved', tags: [{ key: TAG, value: 'true' }] },
      },
    ]);

    // Act
    const summary = await sweep({ EXEMPTION_APPROVERS: APPROVER_ROLE })({}, CONTEXT);

    // Assess
    const findings = await aws.findings();
    const approved = findings.get(idOf('approved'));
    expect(approved?.Compliance?.Status).toBe('WARNING');
    expect(approved?.ProductFields).toMatchObject({
      [`${FIELD}/exemptionApprovedBy`]: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/security-admin/jane`,
      [`${FIELD}/exemptionEventId`]: 'ev-approved',
      [`${FIELD}/exemptionSetAt`]: new Date(setAt).toISOString(),
    });
    const forged = findings.get(idOf('forged'));
    expect(forged?.Compliance?.Status).toBe('FAILED');
    expect(forged?.Severity?.Label).toBe('HIGH');
    expect(forged?.Compliance?.StatusReasons?.[0]).toMatchObject({
      ReasonCode: 'EXEMPTION_NOT_PROVEN',
      Description: expect.stringContaining(`CloudTrail holds no TagUser of ${TAG} on forged`),
    });
    expect(forged?.ProductFields?.[`${FIELD}/exemptionApprovedBy`]).toBeUndefined();
    expect(summary).toMatchObject({ exempt: 1, violating: 1 });
    // One read of CloudTrail answers every user of the sweep; the violation (forged) adds its usage evidence.
    expect(aws.proxy.lookups('EventName')).toHaveLength(1);
    expect(aws.proxy.lookups('AccessKeyId')).toHaveLength(2);
  });

  it('reads no CloudTrail without approvers, and keeps true a permanent exemption', async () => {
    await aws.seed([{ userName: 'plain', activeKeys: 2, tags: { [TAG]: 'true' } }]);

    const summary = await sweep({})({}, CONTEXT);

    expect((await aws.findings()).get(idOf('plain'))?.Compliance?.Status).toBe('WARNING');
    expect(summary).toMatchObject({ exempt: 1 });
    expect(aws.proxy.count('LookupEvents')).toBe(0);
  });
});
