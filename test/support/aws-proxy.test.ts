/**
 * The test proxy's AWS-like behaviour the tests rely on: rate limits, finding filters, targeted faults and CloudTrail
 * LookupEvents.
 */

import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  SecurityHubClient,
  ThrottlingException,
} from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type AwsProxy, startAwsProxy } from './aws-proxy.ts';
import { type TrailRecord, updateAccessKeyRecord } from './trail-records.ts';

const PRODUCT_ARN = 'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default';
const proxies: AwsProxy[] = [];

async function proxy(options: Parameters<typeof startAwsProxy>[1]): Promise<AwsProxy> {
  const started = await startAwsProxy(inject('motoEndpoint'), options);
  proxies.push(started);
  return started;
}

/** A client that sends once, so every throttled answer reaches the test. */
const hubAt = (endpoint: string) =>
  new SecurityHubClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });

const settled = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: unknown) => error,
  );

afterEach(async () => {
  for (const started of proxies.splice(0)) await started.close();
});

describe('startAwsProxy rate limits', () => {
  it('lets a burst through, answers 429 ThrottlingException when the bucket is empty, and refills at the rate', async () => {
    let now = 0;
    const limited = await proxy({
      rateLimits: [{ operation: 'securityhub.GetFindings', perSecond: 2, burst: 3 }],
      now: () => now,
    });
    const hub = hubAt(limited.endpoint);
    const read = () => settled(hub.send(new GetFindingsCommand({ MaxResults: 1 })));

    const burst = [await read(), await read(), await read(), await read()];
    now += 499;
    const tooSoon = await read();
    now += 1;
    const refilled = await read();

    expect(burst.slice(0, 3)).toEqual(['ok', 'ok', 'ok']);
    expect(burst[3]).toBeInstanceOf(ThrottlingException);
    expect((burst[3] as ThrottlingException).$metadata.httpStatusCode).toBe(429);
    expect(tooSoon).toBeInstanceOf(ThrottlingException);
    expect(refilled).toBe('ok');
    expect(limited.throttledByOperation()).toEqual({ 'securityhub.GetFindings': 2 });
    expect(limited.count('securityhub.GetFindings')).toBe(6);
  });

  it('limits only the operations it names', async () => {
    const limited = await proxy({
      rateLimits: [{ operation: 'securityhub.BatchImportFindings', perSecond: 1, burst: 1 }],
      now: () => 0,
    });
    const hub = hubAt(limited.endpoint);

    for (let n = 0; n < 5; n++) await hub.send(new GetFindingsCommand({ MaxResults: 1 }));

    expect(limited.throttledByOperation()).toEqual({});
  });
});

describe('startAwsProxy finding filters', () => {
  it('answers a GetFindings by Id with that finding only, where moto would return every finding', async () => {
    const filtering = await proxy({ filterFindingsById: true });
    const hub = hubAt(filtering.endpoint);
    const ids = [0, 1, 2].map((n) => `kw-proxy-filter/${Date.now()}/${n}`);
    await hub.send(
      new BatchImportFindingsCommand({
        Findings: ids.map((Id) => ({
          SchemaVersion: '2018-10-08',
          Id,
          ProductArn: PRODUCT_ARN,
          GeneratorId: 'kw-proxy-test',
          AwsAccountId: '123456789012',
          CreatedAt: '2026-06-01T12:00:00.000Z',
          UpdatedAt: '2026-06-01T12:00:00.000Z',
          Severity: { Label: 'LOW' },
          Title: 'proxy test',
          Description: 'proxy test',
          Resources: [{ Type: 'Other', Id }],
        })),
      }),
    );

    const byId = await hub.send(
      new GetFindingsCommand({
        Filters: {
          Id: [{ Value: ids[1], Comparison: 'EQUALS' }],
          ProductArn: [{ Value: PRODUCT_ARN, Comparison: 'EQUALS' }],
        },
      }),
    );
    const otherProduct = await hub.send(
      new GetFindingsCommand({
        Filters: {
          Id: [{ Value: ids[1], Comparison: 'EQUALS' }],
          ProductArn: [
            { Value: 'arn:aws:securityhub:us-east-1::product/aws/guardduty', Comparison: 'EQUALS' },
          ],
        },
      }),
    );
    // The same read straight to moto, which ignores the filters.
    const plain = await hubAt(inject('motoEndpoint')).send(
      new GetFindingsCommand({ Filters: { Id: [{ Value: ids[1], Comparison: 'EQUALS' }] } }),
    );

    expect(byId.Findings?.map((finding) => finding.Id)).toEqual([ids[1]]);
    expect(otherProduct.Findings).toEqual([]);
    expect(plain.Findings?.length).toBeGreaterThan(1);
  });
});

describe('startAwsProxy faults', () => {
  it('fails only the requests whose body contains bodyIncludes', async () => {
    // Prepare
    const faulty = await proxy({});
    faulty.inject({
      operation: 'AssumeRole',
      status: 403,
      code: 'AccessDenied',
      bodyIncludes: '444455556666',
    });
    const sts = new STSClient({
      endpoint: faulty.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const assume = (accountId: string) =>
      settled(
        sts.send(
          new AssumeRoleCommand({
            RoleArn: `arn:aws:iam::${accountId}:role/KeyWardenMember`,
            RoleSessionName: 's',
          }),
        ),
      );

    // Act
    const denied = await assume('444455556666');
    const allowed = await assume('111122223333');

    // Assess
    expect((denied as Error).name).toBe('AccessDenied');
    expect(allowed).toBe('ok');
  });

  it('rewrites the answer of the operation it names, and of no other', async () => {
    // Prepare: moto keeps a renamed user's old name on its keys; a test corrects that at the proxy.
    const correcting = await proxy({});
    const iam = new IAMClient({
      endpoint: correcting.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const userName = `proxy-rewrite-${Date.now()}`;
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    correcting.inject({
      operation: 'iam.GetAccessKeyLastUsed',
      rewriteResponse: (body) => body.replaceAll(`>${userName}<`, '>renamed<'),
    });

    // Act
    const lastUsed = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: AccessKey?.AccessKeyId }));
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));

    // Assess
    expect(lastUsed.UserName).toBe('renamed');
    expect(listed.AccessKeyMetadata?.[0]?.UserName).toBe(userName);
  });
});

describe('startAwsProxy CloudTrail LookupEvents', () => {
  it('answers from its trail: filtered by attribute and time, newest first, 50 a page with NextToken', async () => {
    // Prepare
    const served = await proxy({});
    const start = Date.parse('2026-06-01T00:00:00Z');
    for (let i = 0; i < 60; i++) {
      served.trail.push(
        updateAccessKeyRecord({
          caller: { roleArn: 'arn:aws:iam::123456789012:role/KeyWarden-DetectorRole', sessionName: 'd' },
          userName: `user-${i}`,
          accessKeyId: `AKIAKEY${String(i).padStart(13, '0')}`,
          status: 'Inactive',
          eventTime: new Date(start + i * 60_000),
        }),
      );
    }
    served.trail.push({
      ...(served.trail[0] as TrailRecord),
      eventID: 'other',
      eventName: 'CreateAccessKey',
    });
    const trail = new CloudTrailClient({
      endpoint: served.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const lookup = (NextToken?: string, StartTime?: Date) =>
      trail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'UpdateAccessKey' }],
          ...(NextToken ? { NextToken } : {}),
          ...(StartTime ? { StartTime } : {}),
        }),
      );

    // Act
    const first = await lookup();
    const second = await lookup(first.NextToken);
    const recent = await lookup(undefined, new Date(start + 55 * 60_000));

    // Assess
    expect(first.Events).toHaveLength(50);
    expect(first.Events?.[0]?.EventTime).toEqual(new Date(start + 59 * 60_000));
    expect(JSON.parse(first.Events?.[0]?.CloudTrailEvent ?? '{}').requestParameters).toEqual({
      userName: 'user-59',
      accessKeyId: 'AKIAKEY0000000000059',
      status: 'Inactive',
    });
    expect(second.Events).toHaveLength(10);
    expect(second.NextToken).toBeUndefined();
    expect(recent.Events?.map((event) => event.Username)).toEqual(['d', 'd', 'd', 'd', 'd']);
    expect(served.count('cloudtrail.LookupEvents')).toBe(3);
  });
});
