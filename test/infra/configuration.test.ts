import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/constants.ts';
import {
  AccessKeyDetector,
  type AccessKeyDetectorProps,
  invalidSchedule,
} from '../../infra/access-key-detector.ts';
import { type ContextKey, organizationFromContext, stackPropsFromContext } from '../../infra/context.ts';
import { IamEventForwarderStack } from '../../infra/iam-event-forwarder-stack.ts';
import { KeyWardenStack } from '../../infra/keywarden-stack.ts';
import { removeTestApps, settingErrorsOf, testApp } from './synth.ts';

afterAll(removeTestApps);

/** A stack to build a detector in; never synthesized, and bundling is off. */
function scratchStack(): Stack {
  return new Stack(testApp(), 'Scratch');
}

function build(props: AccessKeyDetectorProps): AccessKeyDetector {
  return new AccessKeyDetector(scratchStack(), 'Detector', props);
}

describe('AccessKeyDetector props', () => {
  it.each<[string, AccessKeyDetectorProps, RegExp]>([
    [
      'an unknown remediation mode',
      { remediationMode: 'delete' as never },
      /remediationMode "delete" is not allowed; use one of: off, dry-run, deactivate/,
    ],
    [
      'an unknown key strategy',
      { keepKey: 'random' as never },
      /keepKey "random" is not allowed; use one of: newest/,
    ],
    [
      'an unknown sweep source',
      { sweepSource: 'partial' as never },
      /sweepSource "partial" is not allowed; use one of: credential-report, full/,
    ],
    [
      'a tag key in the aws: namespace',
      { exemptTag: 'aws:exempt' },
      /exemptTag "aws:exempt" is not an IAM tag key/,
    ],
    ['an empty tag key', { exemptTag: '' }, /exemptTag "" is not an IAM tag key/],
    [
      'a tag key over 128 characters',
      { exemptTag: 'x'.repeat(129) },
      /exemptTag "x{129}" is not an IAM tag key/,
    ],
    [
      'a tag key with a forbidden character',
      { exemptTag: 'exempt!' },
      /exemptTag "exempt!" is not an IAM tag key/,
    ],
    [
      'negative grace hours',
      { rotationGraceHours: -1 },
      /rotationGraceHours -1 is not allowed; use a whole number from 0 to 2160 \(hours\)/,
    ],
    ['grace hours beyond 90 days', { rotationGraceHours: 2161 }, /rotationGraceHours 2161 is not allowed/],
    [
      'a fractional grace, which ROTATION_GRACE_HOURS would refuse at cold start',
      { rotationGraceHours: 1.5 },
      /rotationGraceHours 1.5 is not allowed; use a whole number from 0 to 2160/,
    ],
    [
      'grace hours that are not a number',
      { rotationGraceHours: Number.NaN },
      /rotationGraceHours NaN is not allowed/,
    ],
    [
      'negative in-use hours',
      { inUseHours: -1 },
      /inUseHours -1 is not allowed; use a whole number from 0 to 2160 \(hours\)/,
    ],
    ['in-use hours beyond 90 days', { inUseHours: 2161 }, /inUseHours 2161 is not allowed/],
    [
      'fractional in-use hours, which IN_USE_HOURS would refuse at cold start',
      { inUseHours: 0.5 },
      /inUseHours 0.5 is not allowed; use a whole number from 0 to 2160/,
    ],
    [
      'a retention CloudWatch Logs does not offer',
      { logRetention: 42 as logs.RetentionDays },
      /logRetention 42 is not a CloudWatch Logs retention; use one of: 1, 3, 5, 7, 14, 30/,
    ],
    [
      'a schedule that is neither rate() nor cron()',
      { sweepSchedule: events.Schedule.expression('every 6 hours') },
      /sweepSchedule "every 6 hours" is not allowed \(neither rate\(\.\.\.\) nor cron\(\.\.\.\)\); use rate\(N unit\)/,
    ],
    [
      'an alarm address without a domain',
      { alarmEmail: 'security' },
      /alarmEmail "security" is not an e-mail address/,
    ],
    [
      'a trusted key issuer that is not an ARN',
      { trustedKeyIssuers: ['provisioning-role'] },
      /trustedKeyIssuers entry "provisioning-role" is not allowed; use an IAM or STS ARN with \* wildcards/,
    ],
    [
      'a trusted key issuer that trusts everyone',
      { trustedKeyIssuers: ['arn:*'] },
      /trustedKeyIssuers entry "arn:\*" is not allowed/,
    ],
    [
      'a trusted key issuer with a comma',
      { trustedKeyIssuers: ['arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:role/b'] },
      /trustedKeyIssuers entry "arn:aws:iam::123456789012:role\/a,arn:aws:iam::123456789012:role\/b" is not allowed/,
    ],
    [
      'a trusted key issuer of another service',
      { trustedKeyIssuers: ['arn:aws:lambda::123456789012:function/provisioning'] },
      /trustedKeyIssuers entry "arn:aws:lambda::123456789012:function\/provisioning" is not allowed; .*service "lambda" is neither iam nor sts/,
    ],
    [
      'an exemption approver that is not an IAM or STS ARN',
      { exemptionApprovers: ['arn:aws:s3:::approvals/*'] },
      /exemptionApprovers entry "arn:aws:s3:::approvals\/\*" is not allowed; .*service "s3" is neither iam nor sts/,
    ],
    [
      'exemption approvers in organization mode',
      {
        exemptionApprovers: ['arn:aws:iam::123456789012:role/security-admin'],
        organization: {
          organizationId: 'o-a1b2c3d4e5',
          memberRoleName: 'KeyWardenMember',
          memberAccountIds: ['111122223333'],
        },
      },
      /exemptionApprovers is set with organization/,
    ],
    [
      'an exemption of no day',
      { maxExemptionDays: 0 },
      /maxExemptionDays 0 is not allowed; use a whole number from 1 to 365 \(days\)/,
    ],
    ['an exemption over a year', { maxExemptionDays: 366 }, /maxExemptionDays 366 is not allowed/],
    [
      'an exemption longer than CloudTrail can prove, with approvers',
      { exemptionApprovers: ['arn:aws:iam::123456789012:role/security-admin'], maxExemptionDays: 91 },
      /maxExemptionDays 91 is not allowed; use a whole number from 1 to 90 \(days\), as CloudTrail LookupEvents proves/,
    ],
    [
      'more than 50 trusted key issuers',
      { trustedKeyIssuers: Array.from({ length: 51 }, (_, i) => `arn:aws:iam::123456789012:role/r${i}`) },
      /trustedKeyIssuers holds 51 patterns; use at most 50/,
    ],
    [
      'a detector concurrency below what Lambda allows',
      { detectorConcurrency: 1 },
      /detectorConcurrency 1 is not allowed; use a whole number from 2 to 1000/,
    ],
    [
      'a detector concurrency over 1000',
      { detectorConcurrency: 1001 },
      /detectorConcurrency 1001 is not allowed/,
    ],
    [
      'a fractional detector concurrency',
      { detectorConcurrency: 2.5 },
      /detectorConcurrency 2.5 is not allowed/,
    ],
  ])('rejects %s at synth, naming the value', (_case, props, message) => {
    expect(settingErrorsOf(build(props))).toEqual([expect.stringMatching(message)]);
  });

  it('reports a bad prop as a synth error of the construct, which cdk synth prints in one line', () => {
    // Prepare
    const stack = scratchStack();

    // Act
    new AccessKeyDetector(stack, 'Detector', { remediationMode: 'delete' as never });

    // Assess
    Annotations.fromStack(stack).hasError(
      '/Scratch/Detector',
      Match.stringLikeRegexp('^remediationMode "delete" is not allowed'),
    );
  });

  it.each<[string, AccessKeyDetectorProps]>([
    ['every default', {}],
    ['the longest grace', { rotationGraceHours: 2160 }],
    ['in-use protection off', { inUseHours: 0 }],
    ['the longest in-use window', { inUseHours: 2160 }],
    ['a tag key with spaces and punctuation', { exemptTag: 'Security Team/exempt=yes@+-_.:' }],
    ['a retention of ten years', { logRetention: 3653 as logs.RetentionDays }],
    ['a cron schedule', { sweepSchedule: events.Schedule.cron({ hour: '3', minute: '0' }) }],
    ['KEEP_KEY=auto', { keepKey: 'auto' }],
    [
      'trusted key issuers with wildcards',
      {
        trustedKeyIssuers: [
          'arn:aws:iam::123456789012:role/provisioning',
          'arn:aws:sts::123456789012:assumed-role/ci-*/*',
          'arn:aws:iam::111122223333:role/OrganizationAccountAccessRole',
        ],
      },
    ],
    ['the least detector concurrency', { detectorConcurrency: 2 }],
    ['a year-long exemption cap without approvers', { maxExemptionDays: 365 }],
    [
      'exemption approvers with a 90-day cap',
      { exemptionApprovers: ['arn:aws:iam::123456789012:role/security-admin'], maxExemptionDays: 90 },
    ],
    ['the most detector concurrency', { detectorConcurrency: 1000 }],
  ])('accepts %s', (_case, props) => {
    expect(build(props).detectorFunction).toBeDefined();
  });

  it('passes TRUSTED_KEY_ISSUERS to the detector only, comma-separated', () => {
    const stack = scratchStack();
    new AccessKeyDetector(stack, 'Detector', {
      trustedKeyIssuers: [
        'arn:aws:iam::123456789012:role/provisioning',
        'arn:aws:sts::123456789012:assumed-role/ci/*',
      ],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('each IAM access-key event'),
      Environment: {
        Variables: Match.objectLike({
          [ENV.trustedKeyIssuers]:
            'arn:aws:iam::123456789012:role/provisioning,arn:aws:sts::123456789012:assumed-role/ci/*',
        }),
      },
    });
    const sweep = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('sweeps every IAM user') },
      }),
    );
    expect(sweep).toHaveLength(1);
    expect(sweep[0]?.Properties.Environment.Variables).not.toHaveProperty(ENV.trustedKeyIssuers);
  });

  // What EventBridge rejects at deployment, each beside an expression it accepts.
  it.each([
    { expression: 'rate(6 hours)', problem: undefined },
    { expression: 'rate(0 minutes)', problem: 'a rate must be at least 1' },
    { expression: 'rate(1 hour)', problem: undefined },
    { expression: 'rate(1 hours)', problem: 'say 1 hour' },
    { expression: 'rate(5 minutes)', problem: undefined },
    { expression: 'rate(5 minute)', problem: 'say 5 minutes' },
    { expression: 'rate(1.5 hours)', problem: 'a rate is a whole number and a unit' },
    { expression: 'rate(2 weeks)', problem: 'a rate is a whole number and a unit' },
    { expression: 'cron(0 3 * * ? *)', problem: undefined },
    { expression: 'cron(bad)', problem: 'a cron expression has 6 fields, this one 1' },
    { expression: 'cron(0 3 * * ?)', problem: 'a cron expression has 6 fields, this one 5' },
    { expression: 'cron(0 3 ? * MON *)', problem: undefined },
    { expression: 'cron(0 3 * * * *)', problem: 'exactly one of day-of-month and day-of-week must be ?' },
  ])('finds $problem in the schedule $expression', ({ expression, problem }) => {
    expect(invalidSchedule(expression)).toBe(problem);
  });

  it('rejects a schedule EventBridge would refuse, naming the value and the problem', () => {
    expect(settingErrorsOf(build({ sweepSchedule: events.Schedule.expression('rate(0 minutes)') }))).toEqual([
      expect.stringMatching(
        /^sweepSchedule "rate\(0 minutes\)" is not allowed \(a rate must be at least 1\); use rate\(N unit\) with N a whole number from 1/,
      ),
    ]);
  });

  it('rejects a bad alarm address for the forwarder stack too', () => {
    const app = testApp();
    expect(
      () => new IamEventForwarderStack(app, 'Forwarder', { targetRegion: 'eu-west-1', alarmEmail: 'nobody' }),
    ).toThrow(/alarmEmail "nobody" is not an e-mail address/);
  });
});

describe('stackPropsFromContext', () => {
  const fromContext = (context: Partial<Record<ContextKey, unknown>>, env: Record<string, string> = {}) =>
    stackPropsFromContext((key) => context[key], env);

  it('leaves every setting to the construct defaults when there is no context', () => {
    const props = fromContext({});
    expect(props.env).toBeUndefined();
    expect(props.notificationBusName).toBeUndefined();
    expect(Object.values(props.detector ?? {}).filter((value) => value !== undefined)).toEqual([]);
  });

  it('reads -c strings into typed props', () => {
    const props = fromContext({
      remediationMode: 'deactivate',
      keepKey: 'oldest',
      exemptTag: ' team:exempt ',
      rotationGraceHours: '72',
      inUseHours: '48',
      alarmEmail: 'security@example.com',
      sweepSchedule: 'rate(1 day)',
      sweepSource: 'full',
      notificationBusName: 'keywarden',
      createTrail: 'true',
      logRetentionDays: '90',
      detectorConcurrency: '10',
      memberSweepConcurrency: '25',
    });
    expect(props.notificationBusName).toBe('keywarden');
    expect(props.detector).toMatchObject({
      remediationMode: 'deactivate',
      keepKey: 'oldest',
      exemptTag: 'team:exempt',
      rotationGraceHours: 72,
      inUseHours: 48,
      alarmEmail: 'security@example.com',
      sweepSource: 'full',
      createTrail: true,
      logRetention: 90,
      detectorConcurrency: 10,
      memberSweepConcurrency: 25,
    });
    expect(props.detector?.sweepSchedule?.expressionString).toBe('rate(1 day)');
  });

  it.each<[unknown, string[]]>([
    [
      'arn:aws:iam::123456789012:role/a, arn:aws:sts::123456789012:assumed-role/ci/*',
      ['arn:aws:iam::123456789012:role/a', 'arn:aws:sts::123456789012:assumed-role/ci/*'],
    ],
    [
      ['arn:aws:iam::123456789012:role/a', ' arn:aws:iam::123456789012:role/b '],
      ['arn:aws:iam::123456789012:role/a', 'arn:aws:iam::123456789012:role/b'],
    ],
  ])('reads trustedKeyIssuers from a -c comma list or a cdk.json list: %o', (value, expected) => {
    expect(fromContext({ trustedKeyIssuers: value }).detector?.trustedKeyIssuers).toEqual(expected);
  });

  it('rejects a trustedKeyIssuers list that holds something else than strings', () => {
    expect(() => fromContext({ trustedKeyIssuers: ['arn:aws:iam::123456789012:role/a', 7] })).toThrow(
      /context trustedKeyIssuers=\["arn:aws:iam::123456789012:role\/a",7\] is not allowed; use a list of strings/,
    );
  });

  it('accepts the typed values cdk.json can hold', () => {
    const props = fromContext({ rotationGraceHours: 36, createTrail: false, logRetentionDays: 365 });
    expect(props.detector).toMatchObject({ rotationGraceHours: 36, createTrail: false, logRetention: 365 });
  });

  it('treats blank values as unset', () => {
    expect(fromContext({ remediationMode: '  ', rotationGraceHours: '' }).detector).toMatchObject({
      remediationMode: undefined,
      rotationGraceHours: undefined,
    });
  });

  it.each<[Partial<Record<ContextKey, unknown>>, RegExp]>([
    [{ rotationGraceHours: 'soon' }, /context rotationGraceHours="soon" is not allowed; use a whole number/],
    [{ rotationGraceHours: '0x10' }, /context rotationGraceHours="0x10" is not allowed; use a whole number/],
    [{ rotationGraceHours: '1.5' }, /context rotationGraceHours="1.5" is not allowed; use a whole number/],
    [{ rotationGraceHours: '-3' }, /context rotationGraceHours="-3" is not allowed/],
    [{ logRetentionDays: '1y' }, /context logRetentionDays="1y" is not allowed/],
    [{ createTrail: 'yes' }, /context createTrail="yes" is not allowed; use true or false/],
    [
      { alarmEmail: { address: 'a@b.c' } },
      /context alarmEmail=\{"address":"a@b.c"\} is not allowed; use a string/,
    ],
  ])('rejects %o, naming the key and the value', (context, message) => {
    expect(() => fromContext(context)).toThrow(message);
  });

  it('targets the CLI default account and region', () => {
    expect(
      fromContext({}, { CDK_DEFAULT_ACCOUNT: '111122223333', CDK_DEFAULT_REGION: 'us-east-1' }).env,
    ).toEqual({
      account: '111122223333',
      region: 'us-east-1',
    });
  });

  it('lets homeRegion override the CLI default region', () => {
    expect(fromContext({ homeRegion: 'eu-west-1' }, { CDK_DEFAULT_REGION: 'us-east-1' }).env).toEqual({
      account: undefined,
      region: 'eu-west-1',
    });
  });

  it.each([
    {
      region: 'mars-1',
      message: /^context homeRegion="mars-1" is not allowed; use the code of a region aws-cdk-lib knows/,
    },
    {
      region: 'EU-WEST-1',
      message: /^context homeRegion="EU-WEST-1" is not allowed; write it in lower case: eu-west-1$/,
    },
  ])('rejects homeRegion=$region, which CDK or CloudFormation would refuse later', ({ region, message }) => {
    expect(() => fromContext({ homeRegion: region })).toThrow(message);
  });

  it('hands allowed-value checks to the construct, whose error names the value', () => {
    const app = testApp();
    const props = fromContext({ remediationMode: 'on' });
    const stack = new KeyWardenStack(app, 'KeyWarden', props);
    expect(settingErrorsOf(stack.detector)).toEqual([
      expect.stringMatching(/remediationMode "on" is not allowed/),
    ]);
  });
});

describe('organizationFromContext', () => {
  const fromContext = (context: Partial<Record<ContextKey, unknown>>) =>
    organizationFromContext((key) => context[key]);

  it('is single-account mode without organization', () => {
    expect(fromContext({ remediationMode: 'deactivate' })).toBeUndefined();
  });

  it('reads every organization key, from -c strings', () => {
    expect(
      fromContext({
        organization: 'o-abcdefghij',
        memberOus: 'ou-abcd-abcdefgh, ou-ab12-12345678',
        memberRoleName: 'KeyWardenAudit',
        memberAccountIds: '111122223333,444455556666,111122223333',
        managementAccount: '999988887777',
        memberAlarmEmail: 'security@example.com',
        restorePrincipals: 'arn:aws:iam::999988887777:role/operators',
      }),
    ).toEqual({
      organizationId: 'o-abcdefghij',
      memberOus: ['ou-abcd-abcdefgh', 'ou-ab12-12345678'],
      memberRoleName: 'KeyWardenAudit',
      memberAccountIds: ['111122223333', '444455556666'],
      managementAccountId: '999988887777',
      memberAlarmEmail: 'security@example.com',
      restorePrincipalArns: ['arn:aws:iam::999988887777:role/operators'],
    });
  });

  it('reads lists from cdk.json, and the root as a target', () => {
    expect(fromContext({ organization: 'o-abcdefghij', memberOus: ['r-ab12'] })).toMatchObject({
      memberOus: ['r-ab12'],
      memberRoleName: undefined,
      memberAccountIds: undefined,
    });
  });

  it.each<[Partial<Record<ContextKey, unknown>>, string]>([
    [
      { organization: 'o-short', memberOus: 'ou-abcd-abcdefgh' },
      'context organization="o-short" is not allowed; use an organization id: o- then 10 to 32 lower-case letters or digits (o-a1b2c3d4e5)',
    ],
    [
      { organization: 'O-ABCDEFGHIJ', memberOus: 'ou-abcd-abcdefgh' },
      'context organization="O-ABCDEFGHIJ" is not allowed',
    ],
    [{ organization: 'o-abcdefghij' }, 'context memberOus is not set'],
    [
      { organization: 'o-abcdefghij', memberOus: 'ou-abcd-abcdefgh,ou-abc-abcdefgh' },
      'context memberOus="ou-abcd-abcdefgh,ou-abc-abcdefgh" is not allowed: "ou-abc-abcdefgh" is not valid; use a comma-separated list, each an organizational unit id',
    ],
    [
      { organization: 'o-abcdefghij', memberOus: 'ou-abcd-abcdefgh', memberRoleName: 'Key Warden' },
      'context memberRoleName="Key Warden" is not allowed; use an IAM role name',
    ],
    [
      { organization: 'o-abcdefghij', memberOus: 'ou-abcd-abcdefgh', memberAccountIds: '1111,222233334444' },
      'context memberAccountIds="1111,222233334444" is not allowed: "1111" is not valid',
    ],
    [
      { organization: 'o-abcdefghij', memberOus: 'ou-abcd-abcdefgh', managementAccount: '12345678901' },
      'context managementAccount="12345678901" is not allowed; use a 12-digit account id',
    ],
    [
      { organization: 'o-abcdefghij', memberOus: 'ou-abcd-abcdefgh', memberAlarmEmail: 'nobody' },
      'context memberAlarmEmail="nobody" is not allowed; use an e-mail address',
    ],
    [
      {
        organization: 'o-abcdefghij',
        memberOus: 'ou-abcd-abcdefgh',
        restorePrincipals: 'arn:aws:iam::*:role/ops',
      },
      'context restorePrincipals="arn:aws:iam::*:role/ops" is not allowed: "arn:aws:iam::*:role/ops" is not valid',
    ],
    [
      { memberOus: 'ou-abcd-abcdefgh' },
      'context memberOus="ou-abcd-abcdefgh" is only read in organization mode; add -c organization=o-… or remove it',
    ],
    [
      { organization: 'o-abcdefghij', memberOus: ['ou-abcd-abcdefgh', 3] },
      'context memberOus=["ou-abcd-abcdefgh",3] is not allowed; use a list of strings',
    ],
  ])('rejects %o, naming the key and the value', (context, message) => {
    expect(() => fromContext(context)).toThrow(message);
  });
});

describe('KeyWardenStack settings', () => {
  it.each([
    { name: 'bad/bus!', allowed: false },
    { name: 'security-events', allowed: true },
    { name: 'arn:aws:events:us-east-1:123456789012:event-bus/security-events', allowed: true },
    { name: 'arn:aws:events:us-east-1:123456789012:rule/x', allowed: false },
  ])('accepts notificationBusName $name: $allowed', ({ name, allowed }) => {
    const create = () =>
      new KeyWardenStack(testApp(), 'KeyWarden', { notificationBusName: name, env: { region: 'us-east-1' } });
    if (allowed) expect(create).not.toThrow();
    else
      expect(create).toThrow(
        `notificationBusName ${JSON.stringify(name)} is not allowed; use an event bus name (1-256 letters, digits and ._-/) or an event bus ARN`,
      );
  });
});

describe('AccessKeyDetector region guard', () => {
  const errorsOf = (stack: Stack): string[] =>
    Annotations.fromStack(stack)
      .findError('*', Match.anyValue())
      .map((entry) => String(entry.entry.data));

  it.each([
    { case: 'in eu-west-1', region: 'eu-west-1', props: {}, errors: 1 },
    {
      case: 'in eu-west-1, with the events forwarded',
      region: 'eu-west-1',
      props: { eventsForwarded: true },
      errors: 0,
    },
    { case: 'in us-east-1', region: 'us-east-1', props: {}, errors: 0 },
    { case: 'in a region unknown at synth', region: undefined, props: {}, errors: 0 },
  ])('reports $errors synth error(s) $case', ({ region, props, errors }) => {
    // Prepare
    const stack = new Stack(testApp(), 'Alone', region === undefined ? {} : { env: { region } });

    // Act
    new AccessKeyDetector(stack, 'Detector', props);

    // Assess
    const found = errorsOf(stack);
    expect(found).toHaveLength(errors);
    if (errors > 0)
      expect(found[0]).toMatch(
        /IAM events reach EventBridge only in us-east-1, so the rule in eu-west-1 would never fire/,
      );
  });

  it('raises no error in KeyWardenStack, which forwards the events to its home region', () => {
    const stack = new KeyWardenStack(testApp(), 'KeyWarden', { env: { region: 'eu-west-1' } });
    expect(errorsOf(stack)).toEqual([]);
  });
});

describe('the CDK app', () => {
  it.each([
    {
      context: { homeRegion: 'EU-WEST-1' },
      message: 'context homeRegion="EU-WEST-1" is not allowed; write it in lower case: eu-west-1',
    },
    {
      context: { notificationBusName: 'bad/bus!' },
      message:
        'notificationBusName "bad/bus!" is not allowed; use an event bus name (1-256 letters, digits and ._-/) or an event bus ARN',
    },
    {
      context: { organization: 'o-abcdefghij', memberOus: 'ou-1' },
      message:
        'context memberOus="ou-1" is not allowed: "ou-1" is not valid; use a comma-separated list, each an organizational unit id (ou-ab12-cd34ef56: ou-, 4 to 32 and then 8 to 32 lower-case letters or digits) or the root id (r-ab12)',
    },
    {
      context: {
        trustedKeyIssuers: Array.from(
          { length: 51 },
          (_, i) => `arn:aws:iam::123456789012:role/issuer-${i}`,
        ).join(','),
      },
      message: 'trustedKeyIssuers holds 51 patterns; use at most 50 (a * wildcard covers many principals)',
    },
    {
      context: { trustedKeyIssuers: 'arn:aws:iam:*:*:role/provisioning/*' },
      message:
        'trustedKeyIssuers entry "arn:aws:iam:*:*:role/provisioning/*" is not allowed; use an IAM or STS ARN with * wildcards, e.g. arn:aws:iam::123456789012:role/provisioning (region "*" must be empty (IAM and STS principal ARNs have none))',
    },
    {
      context: {
        exemptionApprovers: 'arn:aws:iam::123456789012:role/security-admin',
        maxExemptionDays: '120',
      },
      message:
        'maxExemptionDays 120 is not allowed; use a whole number from 1 to 90 (days), as CloudTrail LookupEvents proves who set an exemption for 90 days only',
    },
    {
      context: { detectorConcurrency: '1' },
      message: 'detectorConcurrency 1 is not allowed; use a whole number from 2 to 1000',
    },
    {
      context: { memberSweepConcurrency: '10' },
      message: 'memberSweepConcurrency is set but organization is not; set both, or neither',
    },
    {
      context: { organization: 'o-abcdefghij', memberOus: 'ou-abcd-abcdefgh' },
      message:
        'organization mode needs managementAccount or memberAccountIds: the sweep lists the member accounts through the management stack’s read-only role, or takes them from memberAccountIds',
    },
  ])('exits 1 with only the message for $context', ({ context, message }) => {
    // Act: as `cdk synth -c …` runs it.
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        ...process.env,
        CDK_OUTDIR: testApp().outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ ...context, 'aws:cdk:bundling-stacks': [] }),
      },
      encoding: 'utf8',
    });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`keywarden: ${message}\n`);
  });

  it('exits 1 with only the message when memberAccountIds names only the account it deploys to', () => {
    // Act: the StackSet leaves out the central account, so such an allow-list would leave no member at all.
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        ...process.env,
        CDK_DEFAULT_ACCOUNT: '999988887777',
        CDK_DEFAULT_REGION: 'us-east-1',
        CDK_OUTDIR: testApp().outdir,
        CDK_CONTEXT_JSON: JSON.stringify({
          organization: 'o-abcdefghij',
          memberOus: 'ou-abcd-abcdefgh',
          memberAccountIds: '999988887777',
          'aws:cdk:bundling-stacks': [],
        }),
      },
      encoding: 'utf8',
    });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^keywarden: memberAccountIds names no member account: 999988887777 is the central account, which the StackSet leaves out[^\n]*\n$/,
    );
  });

  it.each([
    { context: {}, stacks: ['KeyWarden'] },
    {
      context: {
        organization: 'o-abcdefghij',
        memberOus: 'ou-abcd-abcdefgh',
        memberAccountIds: '111122223333',
      },
      stacks: ['KeyWarden', 'KeyWarden-Member'],
    },
    {
      context: {
        organization: 'o-abcdefghij',
        memberOus: 'ou-abcd-abcdefgh',
        homeRegion: 'us-gov-east-1',
        managementAccount: '111122223333',
      },
      stacks: ['KeyWarden', 'KeyWarden-IamEventForwarder', 'KeyWarden-Management', 'KeyWarden-Member'],
    },
  ])('synthesizes $stacks for $context', ({ context, stacks }) => {
    // Act
    const outdir = testApp().outdir;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ ...context, 'aws:cdk:bundling-stacks': [] }),
      },
      encoding: 'utf8',
    });

    // Assess
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; environment: string }>;
    };
    const synthesized = Object.entries(manifest.artifacts)
      .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
      .map(([name]) => name)
      .sort();
    expect(synthesized).toEqual(stacks);
    if (stacks.includes('KeyWarden-Member') && 'homeRegion' in context) {
      // The management account's member stack goes where GovCloud's IAM events arrive.
      expect(manifest.artifacts['KeyWarden-Member']?.environment).toBe('aws://111122223333/us-gov-west-1');
    }
  });
});
