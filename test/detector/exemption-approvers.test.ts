/**
 * Exemption approvers and the exemption cap, through the real detector against moto. Who set the tag is proven by
 * the TagUser event itself, or by CloudTrail LookupEvents (which moto lacks: the proxy serves realistic records).
 */

import { readFileSync } from 'node:fs';
import { TagUserCommand } from '@aws-sdk/client-iam';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import { createDetector, type DetectorResult } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import {
  ACCOUNT_ID,
  keyEvent,
  LAMBDA_CONTEXT,
  MotoAdmin,
  pointSdkAt,
  recordImports,
} from './moto-helpers.ts';

const FIELD = 'keywarden/detector';
const TAG = 'keywarden:exempt';
const APPROVER_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/security-admin`;
const APPROVER = {
  type: 'AssumedRole',
  arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/security-admin/jane`,
  issuerArn: APPROVER_ROLE,
};
const MALLORY = { type: 'IAMUser', userName: 'mallory', arn: `arn:aws:iam::${ACCOUNT_ID}:user/mallory` };
const TAG_RECORD = JSON.parse(
  readFileSync(new URL('../fixtures/cloudtrail/record-tag-user-assumed-role.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

let proxy: AwsProxy;
let moto: MotoAdmin;
let sent: { findings: unknown[] };

beforeAll(async () => {
  moto = new MotoAdmin(inject('motoEndpoint'));
  proxy = await startAwsProxy(inject('motoEndpoint'), { filterFindingsById: true });
  pointSdkAt(proxy.endpoint);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.close();
});

beforeEach(() => {
  proxy.reset();
  proxy.clearFaults();
  sent = recordImports();
});

afterEach(() => {
  for (const finding of sent.findings) expectValidAsff(finding as never);
  vi.restoreAllMocks();
});

function detector(env: Record<string, string>) {
  return createDetector({
    config: loadConfig(env),
    clients: createClients(),
    logger: createLogger('keywarden-exemption-test', 'SILENT'),
    sleep: async () => {},
  }) as (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<DetectorResult>;
}

const WITH_APPROVERS = { EXEMPTION_APPROVERS: APPROVER_ROLE };

/** A user with two active keys whose exemption tag `caller` set to `value`, and the TagUser event of it. */
async function taggedBy(prefix: string, value: string, caller: typeof APPROVER | typeof MALLORY) {
  const userName = moto.uniqueName(prefix);
  await moto.pair(userName);
  await moto.iam.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: TAG, Value: value }] }));
  const event = keyEvent({ userName, caller }) as { detail: Record<string, unknown> };
  event.detail.eventName = 'TagUser';
  event.detail.requestParameters = { userName, tags: [{ key: TAG, value }] };
  event.detail.responseElements = null;
  return { userName, event };
}

/** The CloudTrail record of `caller` tagging `userName`, at `eventTime`. */
function tagRecord(userName: string, value: string, eventTime: string, eventID: string) {
  return { ...TAG_RECORD, eventTime, eventID, requestParameters: { userName, tags: [{ key: TAG, value }] } };
}

describe('exemption approvers against moto', () => {
  it('honours an exemption an approver set: WARNING naming the approver, no CloudTrail read (the event proves it)', async () => {
    const { userName, event } = await taggedBy('kw-appr-ok', 'true', APPROVER);

    const result = await detector(WITH_APPROVERS)(event, LAMBDA_CONTEXT);

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'exempt' });
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.Status).toBe('WARNING');
    expect(finding.ProductFields?.[`${FIELD}/exemptionApprovedBy`]).toBe(APPROVER.arn);
    expect(finding.ProductFields?.[`${FIELD}/exemptionApproverPattern`]).toBe(APPROVER_ROLE);
    expect(finding.Description).toContain(`set by ${APPROVER.arn} (AssumedRole)`);
    expect(proxy.count('LookupEvents')).toBe(0);
  });

  it('refuses an exemption another principal set: FAILED/HIGH naming who set it, and remediation goes on', async () => {
    const { userName, event } = await taggedBy('kw-appr-no', 'true', MALLORY);

    const result = await detector({ ...WITH_APPROVERS, REMEDIATION_MODE: 'dry-run' })(event, LAMBDA_CONTEXT);

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation', action: 'dry-run' });
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.Status).toBe('FAILED');
    expect(finding.Severity?.Label).toBe('HIGH');
    expect(finding.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('EXEMPTION_NOT_APPROVED');
    expect(finding.Compliance?.StatusReasons?.[0]?.Description).toContain(`set by ${MALLORY.arn} (IAMUser)`);
    expect(finding.ProductFields?.[`${FIELD}/exemptionSetBy`]).toBe(MALLORY.arn);
  });

  it('refuses an end in year 9999 whoever set it, with or without approvers, reading no CloudTrail', async () => {
    for (const env of [WITH_APPROVERS, {}]) {
      const { userName, event } = await taggedBy('kw-appr-9999', '9999-12-31T23:59:59Z', APPROVER);

      const result = await detector(env)(event, LAMBDA_CONTEXT);

      expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation' });
      const finding = await moto.findingOf(userName);
      expect(finding.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('EXEMPTION_INVALID');
      expect(finding.ProductFields?.[`${FIELD}/exemptionIgnored`]).toContain(
        'more than MAX_EXEMPTION_DAYS (90)',
      );
    }
    // No read of who set the tag; the violations' usage evidence is read (one per active key, each time).
    expect(proxy.lookups('EventName')).toEqual([]);
    expect(proxy.lookups('AccessKeyId')).toHaveLength(4);
  });

  it('on a key event, proves an earlier exemption from CloudTrail: one LookupEvents, then WARNING', async () => {
    const userName = moto.uniqueName('kw-appr-ct');
    const [, newKey] = await moto.pair(userName);
    await moto.iam.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: TAG, Value: 'true' }] }));
    const setAt = new Date(Date.now() - 2 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    proxy.serveLookupEvents([tagRecord(userName, 'true', setAt, 'ev-approved')]);

    const result = await detector(WITH_APPROVERS)(
      keyEvent({ userName, accessKeyId: newKey.id }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'exempt' });
    expect(proxy.count('cloudtrail.LookupEvents')).toBe(1);
    const finding = await moto.findingOf(userName);
    expect(finding.ProductFields?.[`${FIELD}/exemptionEventId`]).toBe('ev-approved');
    expect(finding.ProductFields?.[`${FIELD}/exemptionSetAt`]).toBe(new Date(setAt).toISOString());
  });

  it('on a key event, refuses an exemption CloudTrail holds no record of: HIGH, saying what could not be proven', async () => {
    const userName = moto.uniqueName('kw-appr-none');
    const [, newKey] = await moto.pair(userName);
    await moto.iam.send(new TagUserCommand({ UserName: userName, Tags: [{ Key: TAG, Value: 'true' }] }));
    proxy.serveLookupEvents([]);

    const result = await detector(WITH_APPROVERS)(
      keyEvent({ userName, accessKeyId: newKey.id }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation' });
    const finding = await moto.findingOf(userName);
    expect(finding.Severity?.Label).toBe('HIGH');
    expect(finding.Compliance?.StatusReasons?.[0]).toMatchObject({
      ReasonCode: 'EXEMPTION_NOT_PROVEN',
      Description: expect.stringContaining(`CloudTrail holds no TagUser of ${TAG} on ${userName}`),
    });
  });
});
