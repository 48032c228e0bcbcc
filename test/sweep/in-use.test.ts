/**
 * The sweep and in-use protection against moto: a key in use is left on, and the first sweep after it has been idle
 * for IN_USE_HOURS switches it off. Its last use is read live: the credential report may predate a recent use.
 */

import { CreateAccessKeyCommand, CreateUserCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { createSweepHandler } from '../../functions/sweep/handler.ts';
import { ACCOUNT_ID, CONTEXT, type IsolatedAws, iamCalls, REGION, startIsolatedAws } from './moto-fixture.ts';

const HOUR = 3_600_000;

describe('sweep in-use protection against moto', () => {
  let aws: IsolatedAws;

  beforeAll(async () => {
    aws = await startIsolatedAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });

  const sweep = (env: Record<string, string>, clock: () => Date) => {
    const logger = createLogger('keywarden-sweep-in-use-test');
    logger.setLogLevel('SILENT');
    return createSweepHandler({
      config: loadConfig(env),
      clients: aws.clients({ maxAttempts: 2 }),
      cloudTrail: aws.cloudTrail({ maxAttempts: 2 }),
      logger,
      sleep: async () => undefined,
      clock,
    });
  };

  /** A user with an old key signed with just now (in use) and a newer key never used. */
  async function rotatingUser(userName: string): Promise<{ oldId: string; newId: string }> {
    await aws.iam.send(new CreateUserCommand({ UserName: userName }));
    const old = await aws.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const created = await aws.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const signer = new STSClient({
      endpoint: aws.moto.endpoint,
      region: REGION,
      credentials: {
        accessKeyId: old.AccessKey?.AccessKeyId as string,
        secretAccessKey: old.AccessKey?.SecretAccessKey as string,
      },
    });
    await signer.send(new GetCallerIdentityCommand({}));
    return { oldId: old.AccessKey?.AccessKeyId as string, newId: created.AccessKey?.AccessKeyId as string };
  }

  const statusOf = async (userName: string) => {
    const { AccessKeyMetadata = [] } = await aws.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return Object.fromEntries(AccessKeyMetadata.map((key) => [key.AccessKeyId, key.Status]));
  };

  it('leaves the key in use on (KEY_IN_USE), then switches it off once it has been idle for the window', async () => {
    // Prepare
    const { oldId, newId } = await rotatingUser('sweep-in-use');
    const env = { REMEDIATION_MODE: 'deactivate', IN_USE_HOURS: '24' };
    let offsetMs = 0;
    let tick = 0;
    const clock = () => new Date(Date.now() + offsetMs + tick++);
    aws.proxy.reset();

    // Act: now, then 25 hours later with no further use.
    const during = await sweep(env, clock)({}, CONTEXT);
    const findingDuring = (await aws.findings()).get(findingIdFor(ACCOUNT_ID, 'sweep-in-use'));
    const statusDuring = await statusOf('sweep-in-use');
    const lastUsedReads = iamCalls(aws.proxy).GetAccessKeyLastUsed;
    offsetMs = 25 * HOUR;
    const after = await sweep(env, clock)({}, CONTEXT);

    // Assess
    expect(during).toMatchObject({ violating: 1, deactivated: 0 });
    expect(statusDuring).toEqual({ [oldId]: 'Active', [newId]: 'Active' });
    expect(findingDuring?.Compliance?.Status).toBe('FAILED');
    expect(findingDuring?.Compliance?.StatusReasons?.map((r) => r.ReasonCode)).toEqual([
      'KEY_IN_USE',
      'MORE_THAN_ONE_ACTIVE_KEY',
    ]);
    // Read live, not from the credential report, before deciding to switch a key off.
    expect(lastUsedReads).toBe(2);
    expect(after).toMatchObject({ violating: 1, deactivated: 1 });
    expect(await statusOf('sweep-in-use')).toEqual({ [oldId]: 'Inactive', [newId]: 'Active' });
    expect((await aws.findings()).get(findingIdFor(ACCOUNT_ID, 'sweep-in-use'))?.Compliance?.Status).toBe(
      'PASSED',
    );
  });
});
