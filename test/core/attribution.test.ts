import { describe, expect, it } from 'vitest';
import { classifyMinter, describeOrigin, keyGrantOf, keyOrigin } from '../../functions/core/attribution.ts';
import {
  ACCOUNT_ID,
  ASSUMED_ROLE,
  createdBy,
  FEDERATED_USER,
  IAM_USER,
  ROLE,
  ROLE_SESSION,
  ROOT,
} from './identities.ts';

describe('classifyMinter', () => {
  // Each identity type of the fixture beside the twin that differs by one thing.
  it.each([
    {
      case: 'an IAM user creating its own key (no UserName in the request)',
      identity: IAM_USER,
      userName: undefined,
      target: 'Alice',
      trusted: [],
      expected: { kind: 'self', principal: 'IAM user' },
    },
    {
      case: 'an IAM user creating its own key, its name spelt in another case',
      identity: IAM_USER,
      userName: 'alice',
      target: 'alice',
      trusted: [],
      expected: { kind: 'self', principal: 'IAM user' },
    },
    {
      case: 'an IAM user creating a key for another IAM user',
      identity: IAM_USER,
      userName: 'bob',
      target: 'bob',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'IAM user' },
    },
    {
      case: 'an IAM user creating a key for another IAM user, that user trusted by its ARN',
      identity: IAM_USER,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:iam::123456789012:user/Alice'],
      expected: {
        kind: 'trusted',
        principal: 'IAM user',
        pattern: 'arn:aws:iam::123456789012:user/Alice',
        matchedArn: 'arn:aws:iam::123456789012:user/Alice',
      },
    },
    {
      case: 'an IAM user of another account with the same name',
      identity: { ...IAM_USER, accountId: '210987654321', arn: 'arn:aws:iam::210987654321:user/Alice' },
      userName: 'Alice',
      target: 'Alice',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'IAM user' },
    },
    {
      case: 'an assumed role',
      identity: ASSUMED_ROLE,
      userName: 'bob',
      target: 'bob',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'assumed role' },
    },
    {
      case: 'an assumed role whose role is trusted',
      identity: ASSUMED_ROLE,
      userName: 'bob',
      target: 'bob',
      trusted: [ROLE],
      expected: { kind: 'trusted', principal: 'assumed role', pattern: ROLE, matchedArn: ROLE },
    },
    {
      case: 'an assumed role whose sessions are trusted by a wildcard',
      identity: ASSUMED_ROLE,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:sts::123456789012:assumed-role/RoleToBe*/*'],
      expected: {
        kind: 'trusted',
        principal: 'assumed role',
        pattern: 'arn:aws:sts::123456789012:assumed-role/RoleToBe*/*',
        matchedArn: ROLE_SESSION,
      },
    },
    {
      case: 'an assumed role matched by a pattern without wildcard on a prefix only',
      identity: ASSUMED_ROLE,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:iam::123456789012:role/RoleToBe'],
      expected: { kind: 'another-principal', principal: 'assumed role' },
    },
    {
      case: 'an assumed role matched by a pattern in another case (ARN matching is case-sensitive)',
      identity: ASSUMED_ROLE,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:iam::123456789012:role/roletobeassumed'],
      expected: { kind: 'another-principal', principal: 'assumed role' },
    },
    {
      case: 'an assumed role whose role is trusted in another account only',
      identity: ASSUMED_ROLE,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:iam::210987654321:role/RoleToBeAssumed'],
      expected: { kind: 'another-principal', principal: 'assumed role' },
    },
    {
      case: 'a role session named after the key user (a session name is not an identity)',
      identity: { ...ASSUMED_ROLE, arn: 'arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/bob' },
      userName: 'bob',
      target: 'bob',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'assumed role' },
    },
    {
      case: 'a federated user',
      identity: FEDERATED_USER,
      userName: 'bob',
      target: 'bob',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'federated user' },
    },
    {
      case: 'a federated user whose own ARN is trusted',
      identity: FEDERATED_USER,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:sts::123456789012:federated-user/*'],
      expected: {
        kind: 'trusted',
        principal: 'federated user',
        pattern: 'arn:aws:sts::123456789012:federated-user/*',
        matchedArn: 'arn:aws:sts::123456789012:federated-user/my-federated-user-name',
      },
    },
    {
      case: 'a federated user whose issuing IAM user is trusted (issuers count for role sessions only)',
      identity: FEDERATED_USER,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:iam::123456789012:user/Alice'],
      expected: { kind: 'another-principal', principal: 'federated user' },
    },
    {
      case: 'a federated user creating a key for the IAM user that issued its session',
      identity: FEDERATED_USER,
      userName: 'Alice',
      target: 'Alice',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'federated user' },
    },
    {
      case: 'root creating a key for an IAM user',
      identity: ROOT,
      userName: 'bob',
      target: 'bob',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'root user' },
    },
    {
      case: 'root, trusted by name',
      identity: ROOT,
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:iam::123456789012:root'],
      expected: {
        kind: 'trusted',
        principal: 'root user',
        pattern: 'arn:aws:iam::123456789012:root',
        matchedArn: 'arn:aws:iam::123456789012:root',
      },
    },
    {
      case: 'an AWS service',
      identity: { type: 'AWSService', invokedBy: 'cloudformation.amazonaws.com' },
      userName: 'bob',
      target: 'bob',
      trusted: ['arn:aws:iam::123456789012:*'],
      expected: { kind: 'another-principal', principal: 'AWS service' },
    },
    {
      case: 'a caller without a type',
      identity: { arn: 'arn:aws:iam::123456789012:user/bob', userName: 'bob' },
      userName: 'bob',
      target: 'bob',
      trusted: [],
      expected: { kind: 'another-principal', principal: 'unknown principal' },
    },
  ])('classifies $case', ({ identity, userName, target, trusted, expected }) => {
    const trigger = createdBy(identity, userName);
    expect(classifyMinter(trigger, target, ACCOUNT_ID, trusted)).toEqual(expected);
  });

  it('never reads the user agent: a user agent naming the key user changes nothing', () => {
    const trigger = createdBy(ASSUMED_ROLE, 'bob', { userAgent: 'bob aws-cli/2.15.0 keywarden/1.0 self' });
    expect(classifyMinter(trigger, 'bob', ACCOUNT_ID, ['*bob*'])).toEqual({
      kind: 'another-principal',
      principal: 'assumed role',
    });
  });

  it('takes * literally nowhere else: a dot in a pattern matches a dot only', () => {
    const caller = { ...createdBy(IAM_USER, 'bob'), actorArn: 'arn:aws:iam::123456789012:user/ciXbot' };
    expect(classifyMinter(caller, 'bob', ACCOUNT_ID, ['arn:aws:iam::123456789012:user/ci.bot']).kind).toBe(
      'another-principal',
    );
    expect(classifyMinter(caller, 'bob', ACCOUNT_ID, ['arn:aws:iam::123456789012:user/ci*bot']).kind).toBe(
      'trusted',
    );
  });

  it('uses the first matching pattern', () => {
    const trigger = createdBy(ASSUMED_ROLE, 'bob');
    const minter = classifyMinter(trigger, 'bob', ACCOUNT_ID, [
      'arn:aws:iam::123456789012:role/Other',
      'arn:aws:iam::123456789012:role/*',
      ROLE,
    ]);
    expect(minter).toMatchObject({ kind: 'trusted', pattern: 'arn:aws:iam::123456789012:role/*' });
  });
});

describe('keyGrantOf', () => {
  const created = createdBy(IAM_USER, 'bob');
  it.each([
    {
      case: 'CreateAccessKey',
      trigger: created,
      expectation: undefined,
      grant: { accessKeyId: 'AKIANEW0000000000002', how: 'created' },
    },
    {
      case: 'CreateAccessKey without a key id in the record',
      trigger: { ...created, accessKeyId: undefined },
      expectation: undefined,
      grant: undefined,
    },
    {
      case: 'UpdateAccessKey to Active',
      trigger: { ...created, eventName: 'UpdateAccessKey' as const },
      expectation: { accessKeyId: 'AKIANEW0000000000002', state: 'Active' as const },
      grant: { accessKeyId: 'AKIANEW0000000000002', how: 're-activated' },
    },
    {
      case: 'UpdateAccessKey to Inactive',
      trigger: { ...created, eventName: 'UpdateAccessKey' as const },
      expectation: { accessKeyId: 'AKIANEW0000000000002', state: 'Inactive' as const },
      grant: undefined,
    },
    {
      case: 'DeleteAccessKey',
      trigger: { ...created, eventName: 'DeleteAccessKey' as const },
      expectation: { accessKeyId: 'AKIANEW0000000000002', state: 'absent' as const },
      grant: undefined,
    },
  ])('$case grants $grant.how', ({ trigger, expectation, grant }) => {
    expect(keyGrantOf(trigger, expectation)).toEqual(grant);
  });
});

describe('describeOrigin', () => {
  const trigger = createdBy(ASSUMED_ROLE, 'bob');
  const grant = { accessKeyId: 'AKIANEW0000000000002', how: 'created' as const };
  it.each([
    { minter: { kind: 'self', principal: 'IAM user' } as const, text: 'created by the user itself at' },
    {
      minter: { kind: 'trusted', principal: 'assumed role', pattern: ROLE, matchedArn: ROLE } as const,
      text: `created by ${ROLE_SESSION} (AssumedRole), a trusted key issuer at`,
    },
    {
      minter: { kind: 'another-principal', principal: 'assumed role' } as const,
      text: `created by ${ROLE_SESSION} (AssumedRole), another principal at`,
    },
  ])('says who made the key usable: $minter.kind', ({ minter, text }) => {
    expect(describeOrigin(keyOrigin(trigger, grant, minter))).toBe(`${text} 2026-06-01T11:59:58Z`);
  });
});

describe('classifyMinter: trusted-issuer patterns are matched part by part, like IAM ArnLike', () => {
  // A role path may hold any of \u0021-\u007E, colons included: a principal that may create roles under /app/ can
  // make a role ARN whose resource part looks like another role's.
  const session = (issuerArn: string) => ({
    ...ASSUMED_ROLE,
    arn: 'arn:aws:sts::123456789012:assumed-role/evil/session',
    sessionContext: {
      ...(ASSUMED_ROLE.sessionContext as Record<string, unknown>),
      sessionIssuer: { type: 'Role', arn: issuerArn, accountId: ACCOUNT_ID, userName: 'evil' },
    },
  });
  it.each([
    {
      case: 'a role under /provisioning/, matched by the provisioning pattern',
      issuer: 'arn:aws:iam::123456789012:role/provisioning/deployer',
      pattern: 'arn:aws:iam::*:role/provisioning/*',
      kind: 'trusted',
    },
    {
      case: 'a role under /app/ whose path holds ":role/provisioning/", not matched (* stays in its part)',
      issuer: 'arn:aws:iam::123456789012:role/app/x:role/provisioning/evil',
      pattern: 'arn:aws:iam::*:role/provisioning/*',
      kind: 'another-principal',
    },
    {
      case: 'the same attacker role against a pattern naming the account',
      issuer: 'arn:aws:iam::123456789012:role/app/x:role/provisioning/evil',
      pattern: 'arn:aws:iam::123456789012:role/provisioning/*',
      kind: 'another-principal',
    },
    {
      case: 'a role whose name only begins like the pattern, the pattern naming the role exactly',
      issuer: 'arn:aws:iam::123456789012:role/provisioning-evil',
      pattern: 'arn:aws:iam::123456789012:role/provisioning',
      kind: 'another-principal',
    },
  ])('$case: $kind', ({ issuer, pattern, kind }) => {
    const trigger = createdBy(session(issuer), 'bob');
    expect(classifyMinter(trigger, 'bob', ACCOUNT_ID, [pattern]).kind).toBe(kind);
  });
});
