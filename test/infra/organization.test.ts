import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/shared/constants.ts';
import { AccessKeyDetector, type AccessKeyDetectorProps } from '../../infra/access-key-detector.ts';
import { KeyWardenStack } from '../../infra/keywarden-stack.ts';
import {
  removeTestApps,
  type SynthesizedVariant,
  settingErrorsOf,
  synthesizeVariant,
  testApp,
} from './synth.ts';

const ORGANIZATION_ID = 'o-a1b2c3d4e5';
let single: SynthesizedVariant;
let central: SynthesizedVariant;
let listed: SynthesizedVariant; // members from Organizations, through the management account's reader role
const READER_ARN = 'arn:aws:iam::999988887777:role/KeyWardenOrganizationReader';

beforeAll(() => {
  single = synthesizeVariant({ env: { region: 'us-east-1' } });
  central = synthesizeVariant({
    env: { region: 'us-east-1' },
    detector: {
      organization: {
        organizationId: ORGANIZATION_ID,
        memberRoleName: 'KeyWardenMember',
        memberAccountIds: ['111122223333', '444455556666'],
      },
    },
  });
  listed = synthesizeVariant({
    env: { region: 'us-east-1' },
    detector: {
      organization: {
        organizationId: ORGANIZATION_ID,
        memberRoleName: 'KeyWardenMember',
        organizationRoleArn: READER_ARN,
      },
      memberSweepConcurrency: 40,
    },
  });
});

afterAll(removeTestApps);

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function statementsOf(variant: SynthesizedVariant, roleFragment: string): Statement[] {
  const policies = variant.template.findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([id]) => id.includes(roleFragment))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument.Statement as Statement[]) ?? []);
}

describe('AccessKeyDetector organization access', () => {
  it('lets the detector assume only role/<memberRoleName>, only in the organization', () => {
    const assume = statementsOf(central, 'DetectorRole').filter((s) => s.Action === 'sts:AssumeRole');
    expect(assume).toEqual([
      {
        Sid: 'AssumeMemberRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/KeyWardenMember']] },
        Condition: { StringEquals: { 'aws:ResourceOrgID': ORGANIZATION_ID } },
      },
    ]);
  });

  it('grants no sts:AssumeRole in single-account mode', () => {
    for (const role of ['DetectorRole', 'SweepRole']) {
      expect(statementsOf(single, role).filter((s) => JSON.stringify(s.Action).includes('sts:'))).toEqual([]);
    }
  });

  it('passes the member role name and the allow-list to the functions', () => {
    central.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          [ENV.memberRoleName]: 'KeyWardenMember',
          [ENV.memberAccountIds]: '111122223333,444455556666',
        },
      },
    });
  });
});

const MEMBER_ROLE_STATEMENT = {
  Sid: 'AssumeMemberRole',
  Effect: 'Allow',
  Action: 'sts:AssumeRole',
  Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/KeyWardenMember']] },
  Condition: { StringEquals: { 'aws:ResourceOrgID': ORGANIZATION_ID } },
};

/** Logical ids of the queues whose id holds `fragment`: [queue, dead-letter queue]. */
function accountQueues(variant: SynthesizedVariant): { queue: string; deadLetter: string } {
  const ids = Object.keys(variant.template.findResources('AWS::SQS::Queue')).filter((id) =>
    id.includes('SweepAccountQueue'),
  );
  const deadLetter = ids.filter((id) => id.includes('DeadLetter'));
  const queue = ids.filter((id) => !id.includes('DeadLetter'));
  expect(queue).toHaveLength(1);
  expect(deadLetter).toHaveLength(1);
  return { queue: queue[0] as string, deadLetter: deadLetter[0] as string };
}

function detector(props: AccessKeyDetectorProps): () => AccessKeyDetector {
  return () =>
    new AccessKeyDetector(new KeyWardenStack(testApp(), 'Bad', { env: { region: 'us-east-1' } }), 'D', props);
}

describe('AccessKeyDetector organization sweep', () => {
  it('lets the sweep assume the member role, and the reader role only when organizationRoleArn is set', () => {
    const assumeIn = (variant: SynthesizedVariant) =>
      statementsOf(variant, 'SweepRole').filter((s) => s.Action === 'sts:AssumeRole');

    expect(assumeIn(central)).toEqual([MEMBER_ROLE_STATEMENT]);
    expect(assumeIn(listed)).toEqual([
      MEMBER_ROLE_STATEMENT,
      { Sid: 'AssumeOrganizationReader', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: READER_ARN },
    ]);
    // The detector never lists the organization.
    expect(statementsOf(listed, 'DetectorRole').filter((s) => s.Sid === 'AssumeOrganizationReader')).toEqual(
      [],
    );
  });

  it('queues the accounts on an encrypted, TLS-only queue with an alarmed dead-letter queue after 3 receives', () => {
    const { queue, deadLetter } = accountQueues(central);
    const t = central.template;
    t.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      MessageRetentionPeriod: 345_600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetter, 'Arn'] }, maxReceiveCount: 3 },
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetter, 'QueueName'] } }],
      AlarmActions: [Match.anyValue()],
    });
    expect(central.stack.detector.sweepAccountQueue).toBeDefined();
    // The account queue's dead-letter alarm, and the MembersBlind alarm of the coverage check.
    expect(central.stack.detector.alarms).toHaveLength(single.stack.detector.alarms.length + 2);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MembersBlind',
      Namespace: 'KeyWarden',
      Threshold: 1,
      AlarmActions: [Match.anyValue()],
    });
  });

  it('feeds the sweep one account per invocation, 10 at once by default or memberSweepConcurrency', () => {
    for (const [variant, concurrency] of [
      [central, 10],
      [listed, 40],
    ] as const) {
      const { queue } = accountQueues(variant);
      variant.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
        FunctionName: { Ref: Match.stringLikeRegexp('SweepFunction') },
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: concurrency },
        FunctionResponseTypes: Match.absent(),
      });
    }
  });

  it('lets the sweep send to the account queue, and tells it where the queue is', () => {
    const { queue } = accountQueues(central);
    const onQueue = statementsOf(central, 'SweepRole').filter(
      (s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [queue, 'Arn'] }),
    );
    const actions = onQueue.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    // Send (the schedule), receive and delete (the event source mapping), on this queue only.
    expect(actions).toEqual(
      expect.arrayContaining(['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']),
    );
    expect(statementsOf(single, 'SweepRole').flatMap((s) => [s.Action].flat())).not.toContain(
      'sqs:ReceiveMessage',
    );
    central.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('sweeps every IAM user'),
      Environment: { Variables: Match.objectLike({ [ENV.sweepQueueUrl]: { Ref: queue } }) },
    });
    central.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('each IAM access-key event'),
      Environment: { Variables: Match.not(Match.objectLike({ [ENV.sweepQueueUrl]: Match.anyValue() })) },
    });
    listed.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('sweeps every IAM user'),
      Environment: { Variables: Match.objectLike({ [ENV.organizationRoleArn]: READER_ARN }) },
    });
  });

  it('adds no account queue, no event source and no output in single-account mode', () => {
    expect(single.stack.detector.sweepAccountQueue).toBeUndefined();
    expect(
      Object.keys(single.template.findResources('AWS::SQS::Queue')).some((id) => id.includes('SweepAccount')),
    ).toBe(false);
    single.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    // Only the roles keywarden restore proves a deactivation by and the canary table keywarden coverage reads,
    // none of the organization's.
    expect(Object.keys(single.template.toJSON().Outputs)).toEqual(['KeyWardenRoleArns', 'CanaryTableName']);
    expect(Object.keys(central.template.toJSON().Outputs)).toEqual(['CanaryTableName']);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    for (const variant of [central, listed]) {
      const report = new AwsSolutionsChecks().validateScope(variant.app);
      expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    }
  });

  it.each([
    {
      case: 'an organization with neither memberAccountIds nor organizationRoleArn',
      props: { organization: { organizationId: ORGANIZATION_ID, memberRoleName: 'KeyWardenMember' } },
      message: /organization needs memberAccountIds or organizationRoleArn/,
    },
    {
      case: 'memberOus with an id that is not an OU',
      props: {
        organization: {
          organizationId: ORGANIZATION_ID,
          memberRoleName: 'K',
          organizationRoleArn: READER_ARN,
          memberOus: ['ou-ab12-cd34ef56', 'o-a1b2c3d4e5'],
        },
      },
      message: /memberOus\[1\] "o-a1b2c3d4e5" is not allowed; use an organizational unit id/,
    },
    {
      case: 'memberSweepConcurrency without an organization',
      props: { memberSweepConcurrency: 10 },
      message: /memberSweepConcurrency is set but organization is not/,
    },
    {
      case: 'memberSweepConcurrency 1',
      props: {
        organization: {
          organizationId: ORGANIZATION_ID,
          memberRoleName: 'K',
          memberAccountIds: ['111122223333'],
        },
        memberSweepConcurrency: 1,
      },
      message: /memberSweepConcurrency 1 is not allowed; use a whole number from 2 to 1000/,
    },
    {
      case: 'memberSweepConcurrency 1001',
      props: {
        organization: {
          organizationId: ORGANIZATION_ID,
          memberRoleName: 'K',
          memberAccountIds: ['111122223333'],
        },
        memberSweepConcurrency: 1001,
      },
      message: /memberSweepConcurrency 1001 is not allowed/,
    },
  ])('refuses $case at synth', ({ props, message }) => {
    expect(settingErrorsOf(detector(props)())).toEqual([expect.stringMatching(message)]);
  });
});
