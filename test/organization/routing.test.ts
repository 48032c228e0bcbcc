import { describe, expect, it } from 'vitest';
import { parseKeyEvent } from '../../functions/core/event.ts';
import { memberRoleArn, routeAccount, routeKeyEvent } from '../../functions/core/organization.ts';
import { keyEvent } from '../detector/moto-helpers.ts';

const OWN = { accountId: '123456789012', partition: 'aws', region: 'us-east-1' };
const MEMBER = '111122223333';
const OTHER = '444455556666';

describe('routeAccount', () => {
  // Each acted-on account beside its skipped twin.
  it.each([
    { case: 'own account, single-account mode', account: OWN.accountId, settings: {}, expected: 'own' },
    {
      case: 'another account, single-account mode',
      account: MEMBER,
      settings: {},
      expected: 'other-account',
    },
    {
      case: 'another account with a member role and no list',
      account: MEMBER,
      settings: { memberRoleName: 'KeyWardenMember' },
      expected: 'member-role',
    },
    {
      case: 'a listed account',
      account: MEMBER,
      settings: { memberRoleName: 'KeyWardenMember', memberAccountIds: [MEMBER] },
      expected: 'member-role',
    },
    {
      case: 'an account not listed',
      account: OTHER,
      settings: { memberRoleName: 'KeyWardenMember', memberAccountIds: [MEMBER] },
      expected: 'account-not-listed',
    },
    {
      case: 'own account, not listed (always its own)',
      account: OWN.accountId,
      settings: { memberRoleName: 'KeyWardenMember', memberAccountIds: [MEMBER] },
      expected: 'own',
    },
  ])('$expected for $case', ({ account, settings, expected }) => {
    const route = routeAccount(account, OWN, {
      memberRoleName: undefined,
      memberAccountIds: undefined,
      ...settings,
    });
    expect(route.kind === 'act' ? route.target.via : route.reason).toBe(expected);
  });

  it('acts in a member with the function’s partition and region and the member’s account id', () => {
    const route = routeAccount(
      MEMBER,
      { ...OWN, partition: 'aws-us-gov', region: 'us-gov-west-1' },
      {
        memberRoleName: 'KeyWardenMember',
        memberAccountIds: undefined,
      },
    );
    expect(route).toEqual({
      kind: 'act',
      target: {
        account: { accountId: MEMBER, partition: 'aws-us-gov', region: 'us-gov-west-1' },
        via: 'member-role',
      },
    });
  });
});

describe('routeKeyEvent', () => {
  it('passes the parser’s skip through and turns a refused account into a skip with the event id', () => {
    const event = keyEvent({ userName: 'bob', accessKeyId: 'AKIANEW0000000000002', eventId: 'ev-9' });
    const foreign = {
      ...event,
      account: MEMBER,
      detail: { ...(event.detail as object), recipientAccountId: MEMBER },
    };
    const settings = { memberRoleName: undefined, memberAccountIds: undefined };

    expect(routeKeyEvent(parseKeyEvent({ ...event, account: MEMBER }), OWN, settings)).toMatchObject({
      kind: 'skip',
      reason: 'account-mismatch',
    });
    expect(routeKeyEvent(parseKeyEvent(foreign), OWN, settings)).toMatchObject({
      kind: 'skip',
      reason: 'other-account',
      eventId: 'ev-9',
    });
    expect(
      routeKeyEvent(parseKeyEvent(foreign), OWN, { ...settings, memberRoleName: 'KeyWardenMember' }),
    ).toMatchObject({ kind: 'target', userName: 'bob', target: { via: 'member-role' } });
  });
});

describe('memberRoleArn', () => {
  it.each([
    ['aws', 'arn:aws:iam::111122223333:role/KeyWardenMember'],
    ['aws-us-gov', 'arn:aws-us-gov:iam::111122223333:role/KeyWardenMember'],
    ['aws-cn', 'arn:aws-cn:iam::111122223333:role/KeyWardenMember'],
  ])('names the role in partition %s', (partition, arn) => {
    expect(memberRoleArn(partition, MEMBER, 'KeyWardenMember')).toBe(arn);
  });
});
