import { describe, expect, it } from 'vitest';
import { arnLike, firstArnLike } from '../../functions/core/arn-like.ts';
import { arnParts, principalArnPatternProblem } from '../../functions/shared/constants.ts';

describe('arnLike', () => {
  // The IAM User Guide's ArnLike examples, then the cases a trust pattern must get right; each match beside the
  // twin that differs by one thing.
  it.each([
    // IAM: "arn:aws:iam::*:role/*" admits a role of any account, not a user.
    { pattern: 'arn:aws:iam::*:role/*', arn: 'arn:aws:iam::123456789012:role/AdminRole', match: true },
    { pattern: 'arn:aws:iam::*:role/*', arn: 'arn:aws:iam::123456789012:user/User', match: false },
    // IAM: "arn:aws:ec2:*:*:instance/i-?????": ? is exactly one character.
    {
      pattern: 'arn:aws:ec2:*:*:instance/i-?????',
      arn: 'arn:aws:ec2:us-east-1:123456789012:instance/i-12345',
      match: true,
    },
    {
      pattern: 'arn:aws:ec2:*:*:instance/i-?????',
      arn: 'arn:aws:ec2:us-east-1:123456789012:instance/i-123456',
      match: false,
    },
    // A wildcard never spans a colon: the attacker's role path holds one.
    {
      pattern: 'arn:aws:iam::*:role/provisioning/*',
      arn: 'arn:aws:iam::123456789012:role/provisioning/deployer',
      match: true,
    },
    {
      pattern: 'arn:aws:iam::*:role/provisioning/*',
      arn: 'arn:aws:iam::123456789012:role/app/x:role/provisioning/evil',
      match: false,
    },
    // The resource is everything after the fifth colon: a colon in it is compared literally, or by * within it.
    {
      pattern: 'arn:aws:iam::123456789012:role/app/*',
      arn: 'arn:aws:iam::123456789012:role/app/x:role/provisioning/evil',
      match: true,
    },
    {
      pattern: 'arn:aws:iam::123456789012:role/app/x:role/*',
      arn: 'arn:aws:iam::123456789012:role/app/y:role/a',
      match: false,
    },
    // * may match nothing, within its part.
    { pattern: 'arn:aws:iam::123456789012:role/ci*', arn: 'arn:aws:iam::123456789012:role/ci', match: true },
    { pattern: 'arn:aws:iam::123456789012:role/ci?', arn: 'arn:aws:iam::123456789012:role/ci', match: false },
    // An account wildcard stays inside the account part.
    { pattern: 'arn:aws:iam::*:root', arn: 'arn:aws:iam::123456789012:root', match: true },
    { pattern: 'arn:aws:iam::*:root', arn: 'arn:aws:iam::123456789012:user/root', match: false },
    // Case-sensitive, as IAM's ArnLike is.
    {
      pattern: 'arn:aws:iam::123456789012:role/Deployer',
      arn: 'arn:aws:iam::123456789012:role/Deployer',
      match: true,
    },
    {
      pattern: 'arn:aws:iam::123456789012:role/Deployer',
      arn: 'arn:aws:iam::123456789012:role/deployer',
      match: false,
    },
    // Literal characters are literal: a dot is a dot.
    {
      pattern: 'arn:aws:iam::123456789012:user/ci.bot',
      arn: 'arn:aws:iam::123456789012:user/ci.bot',
      match: true,
    },
    {
      pattern: 'arn:aws:iam::123456789012:user/ci.bot',
      arn: 'arn:aws:iam::123456789012:user/ciXbot',
      match: false,
    },
    // The service and partition parts are compared like the others.
    {
      pattern: 'arn:aws:sts::123456789012:assumed-role/ci/*',
      arn: 'arn:aws:sts::123456789012:assumed-role/ci/build-7',
      match: true,
    },
    {
      pattern: 'arn:aws:sts::123456789012:assumed-role/ci/*',
      arn: 'arn:aws-cn:sts::123456789012:assumed-role/ci/build-7',
      match: false,
    },
    // An ARN of fewer than six parts, or none, matches nothing.
    { pattern: 'arn:aws:iam::*:*', arn: 'arn:aws:iam::123456789012:user/alice', match: true },
    { pattern: 'arn:aws:iam::*:*', arn: 'arn:aws:iam::123456789012', match: false },
    { pattern: 'arn:aws:iam::*:*', arn: '', match: false },
  ])('$pattern matches $arn: $match', ({ pattern, arn, match }) => {
    expect(arnLike(pattern, arn)).toBe(match);
  });

  it('names the first matching pattern', () => {
    const patterns = ['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:role/*'];
    expect(firstArnLike(patterns, 'arn:aws:iam::123456789012:role/b')).toBe(patterns[1]);
    expect(firstArnLike(patterns, 'arn:aws:iam::123456789012:user/b')).toBeUndefined();
  });
});

describe('arnParts', () => {
  it('splits at the first five colons, the resource keeping the rest', () => {
    expect(arnParts('arn:aws:iam::123456789012:role/a:b:c')).toEqual([
      'arn',
      'aws',
      'iam',
      '',
      '123456789012',
      'role/a:b:c',
    ]);
    expect(arnParts('arn:aws:iam::123456789012')).toBeUndefined();
  });
});

describe('principalArnPatternProblem', () => {
  // Each accepted pattern beside a rejected twin.
  it.each([
    { pattern: 'arn:aws:iam::123456789012:role/provisioning', problem: undefined },
    { pattern: 'arn:aws:ec2::123456789012:role/provisioning', problem: 'neither iam nor sts' },
    { pattern: 'arn:aws:sts::123456789012:assumed-role/ci-*/*', problem: undefined },
    { pattern: 'arn:aws:sts:us-east-1:123456789012:assumed-role/ci-*/*', problem: 'must be empty' },
    { pattern: 'arn:aws-us-gov:iam::123456789012:root', problem: undefined },
    { pattern: 'arn:aws:iam::*:role/x', problem: undefined },
    { pattern: 'arn:aws:*::123456789012:role/x', problem: 'neither iam nor sts' },
    { pattern: 'arn:aws:iam::123456789012:role/app/x:y', problem: undefined },
    { pattern: 'arn:aws:iam::123456789012:role/with space', problem: 'holds a space' },
    { pattern: 'arn:aws:iam::123456789012:role/a,b', problem: 'a comma' },
    { pattern: 'arn:aws:iam::123456789012:', problem: 'is empty' },
    { pattern: 'arn:aws:iam::alice:role/x', problem: 'not a 12-digit account id' },
    { pattern: 'arn:*', problem: 'six colon-separated parts' },
    { pattern: 'aws:iam::123456789012:role/x:y', problem: 'begins with arn:' },
    { pattern: 'arn:AWS:iam::123456789012:role/x', problem: 'is not a partition' },
    { pattern: `arn:aws:iam::123456789012:role/${'x'.repeat(2048)}`, problem: 'longer than 2048' },
  ])('$pattern: $problem', ({ pattern, problem }) => {
    const found = principalArnPatternProblem(pattern);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
