/**
 * Usage evidence against moto in deactivate mode: where and by what each active key of a violating user is used,
 * from CloudTrail LookupEvents (served by the test proxy with realistic records: moto answers it 500), in the
 * finding beside the in-use decision; its failures never fail the event, and its calls are bounded.
 */

import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import type { DetectorResult } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import { keyUseRecords } from '../support/trail-records.ts';
import {
  keyEvent,
  LAMBDA_CONTEXT,
  MotoAdmin,
  pointSdkAt,
  recordImports,
  selfCaller,
} from './moto-helpers.ts';

type Handler = (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<DetectorResult>;

const FIELD = 'keywarden/detector';

let proxy: AwsProxy;
let moto: MotoAdmin;
let endpoint: string;
let sent: { findings: unknown[] };

beforeAll(async () => {
  endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
  proxy = await startAwsProxy(endpoint, { filterFindingsById: true });
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

async function detector(): Promise<Handler> {
  vi.resetModules();
  const { createDetector } = await import('../../functions/detector/handler.ts');
  return createDetector({
    config: loadConfig({ REMEDIATION_MODE: 'deactivate' }),
    clients: createClients(),
    logger: createLogger('keywarden-usage-test'),
    sleep: async () => {},
  });
}

/** A rotation begun: the old key signs calls (moto records its last use), the user makes a new key with it. */
async function rotation(prefix: string) {
  const userName = moto.uniqueName(prefix);
  await moto.createUser(userName);
  const oldKey = await moto.createKey(userName);
  await moto.use(oldKey);
  const newKey = await moto.createOwnKey(oldKey);
  return { userName, oldKey, newKey };
}

const fields = async (userName: string) => (await moto.findingOf(userName)).ProductFields ?? {};
const reason = async (userName: string, code: string) =>
  (await moto.findingOf(userName)).Compliance?.StatusReasons?.find((r) => r.ReasonCode === code)?.Description;

describe('usage evidence against moto (REMEDIATION_MODE=deactivate)', () => {
  it('the old key in use and a self-made new key: nothing switched off, KEY_IN_USE says where and by what', async () => {
    const { userName, oldKey, newKey } = await rotation('kw-usage-rotation');
    proxy.serveLookupEvents(
      keyUseRecords({ accessKeyId: oldKey.id, userName, calls: 30, endedAt: new Date(Date.now() - 60_000) }),
    );
    proxy.reset();

    const result = await (await detector())(
      keyEvent({ userName, accessKeyId: newKey.id, caller: selfCaller(userName) }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'in-use' });
    expect(proxy.count('iam.UpdateAccessKey')).toBe(0);
    expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [newKey.id]: 'Active' });
    expect(await reason(userName, 'KEY_IN_USE')).toContain(
      'source IPs: 198.51.100.10 (30); user agents: payments-api/3.1 aws-sdk-java/2.25.0 (30); event sources: ec2.amazonaws.com (30)',
    );
    expect(await fields(userName)).toMatchObject({
      [`${FIELD}/key1/accessKeyId`]: oldKey.id,
      [`${FIELD}/key1/usage`]: expect.stringMatching(/^30 management events in us-east-1 .*; complete$/),
      [`${FIELD}/key2/usage`]:
        'no management event signed with it in us-east-1 over the last 7 days; complete',
      [`${FIELD}/usageEvidence`]: expect.stringContaining('management events only'),
    });
    // One LookupEvents per active key, in the Region moto says each was last used (or IAM's, never used).
    expect(proxy.lookups('AccessKeyId')).toEqual([{ region: 'us-east-1' }, { region: 'us-east-1' }]);
  });

  it('both keys in use: no write, BOTH_KEYS_IN_USE with the evidence of each key', async () => {
    const { userName, oldKey, newKey } = await rotation('kw-usage-both');
    await moto.use(newKey);
    const endedAt = new Date(Date.now() - 60_000);
    proxy.serveLookupEvents([
      ...keyUseRecords({ accessKeyId: oldKey.id, userName, calls: 4, endedAt }),
      ...keyUseRecords({
        accessKeyId: newKey.id,
        userName,
        calls: 2,
        endedAt,
        sourceIp: '203.0.113.40',
        userAgent: 'billing-worker/1.0 boto3/1.34',
        eventSource: 'sqs.amazonaws.com',
        eventName: 'GetQueueUrl',
      }),
    ]);
    proxy.reset();

    await (await detector())(
      keyEvent({ userName, accessKeyId: newKey.id, caller: selfCaller(userName) }),
      LAMBDA_CONTEXT,
    );

    expect(proxy.count('iam.UpdateAccessKey')).toBe(0);
    const both = await reason(userName, 'BOTH_KEYS_IN_USE');
    expect(both).toContain('198.51.100.10 (4)');
    expect(both).toContain('203.0.113.40 (2); user agents: billing-worker/1.0 boto3/1.34 (2)');
  });

  it('the old key idle: switched off as before, and the finding keeps what CloudTrail showed of it', async () => {
    const userName = moto.uniqueName('kw-usage-idle');
    const [oldKey, newKey] = await moto.userWithKeys(userName, 2);
    proxy.reset();

    const result = await (await detector())(keyEvent({ userName, accessKeyId: newKey?.id }), LAMBDA_CONTEXT);

    expect(result).toMatchObject({ action: 'deactivated' });
    expect(await moto.statusOf(userName)).toMatchObject({ [oldKey?.id ?? '']: 'Inactive' });
    expect((await fields(userName))[`${FIELD}/key1/usage`]).toBe(
      'no management event signed with it in us-east-1 over the last 7 days; complete',
    );
  });

  it('a key last used in another Region is looked up there too, and its calls there are counted', async () => {
    const { userName, oldKey, newKey } = await rotation('kw-usage-region');
    // Signed in eu-west-1: IAM records that Region as the key's last use.
    await new STSClient({
      endpoint: proxy.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: oldKey.id, secretAccessKey: oldKey.secret },
    }).send(new GetCallerIdentityCommand({}));
    const endedAt = new Date(Date.now() - 60_000);
    proxy.serveLookupEvents([
      ...keyUseRecords({
        accessKeyId: oldKey.id,
        userName,
        calls: 3,
        endedAt,
        eventSource: 'iam.amazonaws.com',
      }),
      ...keyUseRecords({ accessKeyId: oldKey.id, userName, calls: 5, endedAt, region: 'eu-west-1' }),
    ]);
    proxy.reset();

    await (await detector())(
      keyEvent({ userName, accessKeyId: newKey.id, caller: selfCaller(userName) }),
      LAMBDA_CONTEXT,
    );

    expect(
      proxy
        .lookups('AccessKeyId')
        .map((call) => call.region)
        .sort(),
    ).toEqual(['eu-west-1', 'us-east-1', 'us-east-1']);
    expect((await fields(userName))[`${FIELD}/key1/usage`]).toMatch(
      /^8 management events in us-east-1, eu-west-1 over the last 7 days, .*; complete$/,
    );
  });

  it('a key with hundreds of events: at most 2 pages per key and Region, and the summary says it was cut off', async () => {
    const { userName, oldKey, newKey } = await rotation('kw-usage-busy');
    proxy.serveLookupEvents(
      keyUseRecords({ accessKeyId: oldKey.id, userName, calls: 400, endedAt: new Date(Date.now() - 60_000) }),
    );
    proxy.reset();

    await (await detector())(
      keyEvent({ userName, accessKeyId: newKey.id, caller: selfCaller(userName) }),
      LAMBDA_CONTEXT,
    );

    // Two pages for the busy key, one for the new key.
    expect(proxy.lookups('AccessKeyId')).toHaveLength(3);
    expect((await fields(userName))[`${FIELD}/key1/usage`]).toMatch(
      /^100 management events in us-east-1 .*; cut off \(us-east-1: more events than the 2 pages read\)$/,
    );
  });

  it.each([
    { case: 'AccessDenied', status: 400, code: 'AccessDeniedException' },
    { case: 'throttling', status: 400, code: 'ThrottlingException' },
    { case: 'a server error', status: 500, code: 'InternalFailure' },
  ])('evidence failing with $case: the finding is still imported, saying why', async ({ status, code }) => {
    const { userName, newKey } = await rotation('kw-usage-fail');
    proxy.inject({ operation: 'cloudtrail.LookupEvents', status, code });
    proxy.reset();

    const result = await (await detector())(
      keyEvent({ userName, accessKeyId: newKey.id, caller: selfCaller(userName) }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation', action: 'in-use' });
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.StatusReasons?.map((r) => r.ReasonCode)).toEqual([
      'KEY_IN_USE',
      'MORE_THAN_ONE_ACTIVE_KEY',
    ]);
    expect(finding.ProductFields?.[`${FIELD}/key1/usage`]).toMatch(
      new RegExp(
        `^usage evidence unavailable \\(us-east-1: .*${code === 'ThrottlingException' ? 'throttled' : code}`,
      ),
    );
    // Not retried: one request per key, then the summary says why it stopped.
    expect(proxy.lookups('AccessKeyId')).toHaveLength(2);
  });

  it('a compliant event reads no usage evidence', async () => {
    const userName = moto.uniqueName('kw-usage-one');
    const key = await moto.single(userName);
    proxy.reset();

    await (await detector())(keyEvent({ userName, accessKeyId: key.id }), LAMBDA_CONTEXT);

    expect(proxy.count('cloudtrail.LookupEvents')).toBe(0);
  });
});
