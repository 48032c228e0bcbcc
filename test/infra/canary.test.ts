import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { CANARY_TAG_KEY, CANARY_USER_NAME, ENV } from '../../functions/shared/constants.ts';
import { KeyWardenStack } from '../../infra/keywarden-stack.ts';
import { KeyWardenMemberStack } from '../../infra/member-stack.ts';
import { removeTestApps, testApp } from './synth.ts';

afterAll(removeTestApps);

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}

/** The canary user: named, with no access key, no console password, no policy of its own or in a group. */
function expectPowerlessCanaryUser(template: Template): void {
  const users = Object.values(template.findResources('AWS::IAM::User'));
  expect(users).toEqual([{ Type: 'AWS::IAM::User', Properties: { UserName: CANARY_USER_NAME } }]);
  template.resourceCountIs('AWS::IAM::AccessKey', 0);
  expect(JSON.stringify(template.toJSON())).not.toMatch(/LoginProfile|ManagedPolicyArns|"Users"|"Groups"/);
}

const TAG_CANARY = {
  Sid: 'TagCanaryUser',
  Effect: 'Allow',
  Action: 'iam:TagUser',
  Resource: { 'Fn::GetAtt': [expect.stringMatching(/CanaryUser/), 'Arn'] },
  Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [CANARY_TAG_KEY] } },
};

describe('the canary in the single-account stack', () => {
  const stack = new KeyWardenStack(testApp(), 'KeyWarden', { env: { region: 'us-east-1' } });
  const t = Template.fromStack(stack);

  it('creates a canary user without credentials, console access or policies', () => {
    expectPowerlessCanaryUser(t);
  });

  it('lets the sweep tag that user with the canary tag only, and read and write the canary table', () => {
    const all = statements(t);
    expect(all.filter((s) => [s.Action].flat().includes('iam:TagUser'))).toEqual([TAG_CANARY]);
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('SweepRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CanaryRecords',
            Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('CanaryTable'), 'Arn'] },
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('DetectorRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'CanaryArrivals', Action: 'dynamodb:UpdateItem' }),
        ]),
      },
    });
  });

  it('keeps the canary records in an encrypted table with point-in-time recovery', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('outputs the canary table for keywarden coverage --canary-table', () => {
    const tables = Object.keys(t.findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(1);
    t.hasOutput('CanaryTableName', {
      Value: { Ref: tables[0] },
      Description: Match.stringLikeRegexp('--canary-table'),
    });
  });

  it('leaves the user, the table, the grants and the variable out with canary: false', () => {
    const off = Template.fromStack(
      new KeyWardenStack(testApp(), 'KeyWardenNoCanary', {
        env: { region: 'us-east-1' },
        detector: { canary: false },
      }),
    );
    off.resourceCountIs('AWS::IAM::User', 0);
    off.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(Object.keys(off.toJSON().Outputs ?? {})).toEqual(['KeyWardenRoleArns']);
    expect(JSON.stringify(off.toJSON())).not.toContain(ENV.canaryTableName);
    expect(JSON.stringify(off.toJSON())).not.toContain('dynamodb:');
  });
});

describe('the canary in the member stack', () => {
  it('creates the canary user, and lets the member role tag it with the canary tag only', () => {
    const t = Template.fromStack(
      new KeyWardenMemberStack(testApp(), 'Member', { env: { region: 'us-east-1' } }),
    );
    expectPowerlessCanaryUser(t);
    expect(statements(t).filter((s) => [s.Action].flat().includes('iam:TagUser'))).toEqual([TAG_CANARY]);
  });

  it('leaves the canary user out with canary: false', () => {
    const t = Template.fromStack(
      new KeyWardenMemberStack(testApp(), 'MemberNoCanary', { env: { region: 'us-east-1' }, canary: false }),
    );
    t.resourceCountIs('AWS::IAM::User', 0);
  });
});
