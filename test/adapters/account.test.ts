import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { accountFromCaller, accountFromFunctionArn } from '../../functions/adapters/account.ts';
import { pointSdkAt } from '../detector/moto-helpers.ts';

describe('accountFromFunctionArn', () => {
  it.each([
    {
      arn: 'arn:aws:lambda:us-east-1:123456789012:function:keywarden-detector',
      account: { partition: 'aws', region: 'us-east-1', accountId: '123456789012' },
    },
    {
      arn: 'arn:aws:lambda:us-east-1:123456789012:function:keywarden-detector:live',
      account: { partition: 'aws', region: 'us-east-1', accountId: '123456789012' },
    },
    {
      arn: 'arn:aws-cn:lambda:cn-north-1:111122223333:function:kw',
      account: { partition: 'aws-cn', region: 'cn-north-1', accountId: '111122223333' },
    },
    {
      arn: 'arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:kw',
      account: { partition: 'aws-us-gov', region: 'us-gov-west-1', accountId: '111122223333' },
    },
    { arn: undefined, account: undefined },
    { arn: '', account: undefined },
    { arn: 'arn:aws:iam::123456789012:user/alice', account: undefined },
    { arn: 'arn:aws:lambda:us-east-1:1234:function:short-account', account: undefined },
  ])('reads $arn', ({ arn, account }) => {
    expect(accountFromFunctionArn(arn)).toEqual(account);
  });
});

describe('accountFromCaller', () => {
  beforeAll(() => {
    pointSdkAt(inject('motoEndpoint'));
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('reads the account and partition from STS GetCallerIdentity, and the region given', async () => {
    expect(await accountFromCaller('us-east-1')).toEqual({
      accountId: '123456789012',
      partition: 'aws',
      region: 'us-east-1',
    });
  });

  it('falls back to the region of the SDK configuration', async () => {
    expect((await accountFromCaller(undefined)).region).toBe('us-east-1');
  });
});
