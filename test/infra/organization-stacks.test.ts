import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, FORWARDING_RULE_NAME, KEY_EVENT_PATTERN } from '../../functions/shared/constants.ts';
import { KeyWardenCentralStack, type KeyWardenCentralStackProps } from '../../infra/central-stack.ts';
import { SettingError } from '../../infra/errors.ts';
import { KeyWardenManagementStack } from '../../infra/management-stack.ts';
import { KeyWardenMemberStack, MEMBER_STACK_PARAMETERS } from '../../infra/member-stack.ts';
import { MAX_TEMPLATE_BODY_BYTES, MemberStackSet } from '../../infra/member-stack-set.ts';
import { findPythonTool, installAdvice } from '../../scripts/lib/python-tools.mjs';
import { removeTestApps, testApp } from './synth.ts';

const ORGANIZATION_ID = 'o-a1b2c3d4e5';
const OUS = ['ou-ab12-cd34ef56', 'ou-ab12-99887766'];
const CENTRAL_ACCOUNT = '999988887777';
const MANAGEMENT_ACCOUNT = '111100001111';
const OPERATOR = 'arn:aws:iam::999988887777:role/security-operators';

interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly template: Template;
  readonly files: readonly string[];
}

function synthesize<S extends Stack>(build: (app: App) => S): Synthesized & { readonly stack: S } {
  const app = testApp();
  const stack = build(app);
  const assembly = app.synth();
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    files: assembly.stacks.map((artifact) => path.join(assembly.directory, artifact.templateFile)),
  };
}

function central(
  props: Partial<KeyWardenCentralStackProps> & Pick<KeyWardenCentralStackProps, 'organization'>,
) {
  return synthesize((app) => new KeyWardenCentralStack(app, 'KeyWarden', props));
}

// Home region eu-west-1, deactivate mode, a restore role: the members get the template in us-east-1.
let deactivating: ReturnType<typeof central>;
// Environment-agnostic, detect only, an allow-list, the management account known.
let agnostic: ReturnType<typeof central>;
let member: Synthesized;
let management: Synthesized;

beforeAll(() => {
  deactivating = central({
    env: { account: CENTRAL_ACCOUNT, region: 'eu-west-1' },
    detector: { remediationMode: 'deactivate', exemptTag: 'team:exempt' },
    organization: {
      organizationId: ORGANIZATION_ID,
      memberOus: OUS,
      managementAccountId: MANAGEMENT_ACCOUNT,
      restorePrincipalArns: [OPERATOR],
    },
  });
  agnostic = central({
    organization: {
      organizationId: ORGANIZATION_ID,
      memberOus: [OUS[0] as string],
      memberRoleName: 'SecurityAudit-KeyWarden',
      memberAccountIds: ['111122223333', '444455556666'],
      managementAccountId: MANAGEMENT_ACCOUNT,
    },
  });
  member = synthesize(
    (app) => new KeyWardenMemberStack(app, 'KeyWarden-Member', { env: { region: 'us-east-1' } }),
  );
  management = synthesize((app) => new KeyWardenManagementStack(app, 'KeyWarden-Management'));
});

afterAll(removeTestApps);

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
};

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** A resource as `Template.findResources` returns it. */
type Resource = ReturnType<Template['findResources']>[string];

/** The one resource of `type` whose logical id contains `fragment`: [logical id, resource]. */
function only(template: Template, type: string, fragment = ''): [string, Resource] {
  const found = Object.entries(template.findResources(type)).filter(([id]) => id.includes(fragment));
  expect(
    found.map(([id]) => id),
    `${type} ${fragment}`,
  ).toHaveLength(1);
  return found[0] as [string, Resource];
}

function stackSetOf(variant: Synthesized) {
  return only(variant.template, 'AWS::CloudFormation::StackSet')[1].Properties;
}

function memberBodyOf(variant: Synthesized): Template {
  return Template.fromJSON(JSON.parse(stackSetOf(variant).TemplateBody as string));
}

/** The statements of the inline policies attached to the role whose logical id contains `fragment`. */
function roleStatements(template: Template, fragment: string): Statement[] {
  const [roleId] = only(template, 'AWS::IAM::Role', fragment);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

describe('MemberStackSet', () => {
  it('is service-managed, deploys to new accounts of the OUs and removes stacks of accounts that leave', () => {
    expect(stackSetOf(deactivating)).toMatchObject({
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      StackSetName: 'KeyWarden-Member',
    });
  });

  it('targets the OUs in us-east-1 without the central account, whose events reach its default bus', () => {
    expect(stackSetOf(deactivating).StackInstancesGroup).toEqual([
      {
        Regions: ['us-east-1'],
        DeploymentTargets: {
          OrganizationalUnitIds: OUS,
          AccountFilterType: 'DIFFERENCE',
          Accounts: [CENTRAL_ACCOUNT],
        },
      },
    ]);
  });

  it('deploys only to the allow-listed accounts, in the partition of the deploying account', () => {
    expect(stackSetOf(agnostic).StackInstancesGroup).toEqual([
      {
        Regions: [{ 'Fn::FindInMap': ['KeyWardenIamEventRegions', { Ref: 'AWS::Partition' }, 'region'] }],
        DeploymentTargets: {
          OrganizationalUnitIds: [OUS[0]],
          AccountFilterType: 'INTERSECTION',
          Accounts: ['111122223333', '444455556666'],
        },
      },
    ]);
    const mapping = Object.values(agnostic.template.toJSON().Mappings ?? {})[0];
    expect(mapping).toEqual({
      aws: { region: 'us-east-1' },
      'aws-cn': { region: 'cn-north-1' },
      'aws-us-gov': { region: 'us-gov-west-1' },
    });
  });

  it.each([
    { case: 'from a delegated administrator', account: CENTRAL_ACCOUNT, callAs: 'DELEGATED_ADMIN' },
    { case: 'from the management account', account: MANAGEMENT_ACCOUNT, callAs: 'SELF' },
  ])('is created $case', ({ account, callAs }) => {
    const variant = central({
      env: { account, region: 'us-east-1' },
      organization: {
        organizationId: ORGANIZATION_ID,
        memberOus: OUS,
        managementAccountId: MANAGEMENT_ACCOUNT,
      },
    });
    expect(stackSetOf(variant).CallAs).toBe(callAs);
  });

  it('decides CallAs at deployment when the account is unknown at synth', () => {
    expect(stackSetOf(agnostic).CallAs).toEqual({
      'Fn::If': ['InManagementAccount', 'SELF', 'DELEGATED_ADMIN'],
    });
    expect(agnostic.template.toJSON().Conditions.InManagementAccount).toEqual({
      'Fn::Equals': [{ Ref: 'AWS::AccountId' }, MANAGEMENT_ACCOUNT],
    });
  });

  it("passes the central bus, both roles and the home region as the member template's parameters", () => {
    const t = deactivating.template;
    const role = (fragment: string) => ({ 'Fn::GetAtt': [only(t, 'AWS::IAM::Role', fragment)[0], 'Arn'] });
    const parameters = stackSetOf(deactivating).Parameters as {
      ParameterKey: string;
      ParameterValue: unknown;
    }[];
    expect(parameters).toEqual([
      {
        ParameterKey: 'CentralEventBusArn',
        ParameterValue: { 'Fn::GetAtt': [only(t, 'AWS::Events::EventBus')[0], 'Arn'] },
      },
      { ParameterKey: 'DetectorRoleArn', ParameterValue: role('DetectorRole') },
      { ParameterKey: 'SweepRoleArn', ParameterValue: role('SweepRole') },
      { ParameterKey: 'HomeRegion', ParameterValue: 'eu-west-1' },
    ]);
    const declared = Object.keys(memberBodyOf(deactivating).toJSON().Parameters).sort();
    expect(declared).toEqual(parameters.map((p) => p.ParameterKey).sort());
    // The same names as the central outputs, for whoever deploys the member stack by hand; and the canary table,
    // for keywarden coverage --canary-table.
    expect(Object.keys(t.toJSON().Outputs).sort()).toEqual(
      [...Object.values(MEMBER_STACK_PARAMETERS), 'CanaryTableName'].sort(),
    );
  });

  it('carries a member template without Lambda, asset or bootstrap, inline and under the size limit', () => {
    const body = stackSetOf(deactivating).TemplateBody as string;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_TEMPLATE_BODY_BYTES);
    const template = Template.fromJSON(JSON.parse(body)).toJSON() as { Resources: Record<string, Resource> };
    const types = new Set(Object.values(template.Resources).map((resource) => resource.Type as string));
    expect([...types].sort()).toEqual([
      'AWS::CloudWatch::Alarm',
      'AWS::Events::Rule',
      'AWS::IAM::Policy',
      'AWS::IAM::Role',
      'AWS::IAM::User',
      'AWS::SNS::Topic',
      'AWS::SNS::TopicPolicy',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
    ]);
    expect(body).not.toMatch(/Lambda|aws:asset|BootstrapVersion|cdk-bootstrap|S3Bucket|TemplateURL/);
  });

  it('refuses a member template CloudFormation would not take inline', () => {
    const principals = Array.from({ length: 1200 }, (_, i) => `arn:aws:iam::999988887777:role/operator-${i}`);
    expect(() =>
      central({
        env: { account: CENTRAL_ACCOUNT, region: 'us-east-1' },
        organization: {
          organizationId: ORGANIZATION_ID,
          memberOus: OUS,
          managementAccountId: MANAGEMENT_ACCOUNT,
          restorePrincipalArns: principals,
        },
      }),
    ).toThrow(/the member template is \d+ bytes, more than the 51200 CloudFormation takes inline/);
  });

  it('refuses an allow-list that leaves no member once the central account is left out', () => {
    // Prepare: without the refusal, the empty filtered list would drop the filter and reach every account of the OUs.
    const build = () =>
      central({
        env: { account: CENTRAL_ACCOUNT, region: 'us-east-1' },
        organization: {
          organizationId: ORGANIZATION_ID,
          memberOus: OUS,
          memberAccountIds: [CENTRAL_ACCOUNT],
        },
      });

    // Act, Assess
    expect(build).toThrow(SettingError);
    expect(build).toThrow(
      `memberAccountIds names no member account: ${CENTRAL_ACCOUNT} is the central account, which the StackSet leaves out; name the member accounts, or leave memberAccountIds out to deploy to every account of memberOus`,
    );
  });

  it('keeps the allow-listed members when the central account is among them', () => {
    const variant = central({
      env: { account: CENTRAL_ACCOUNT, region: 'us-east-1' },
      organization: {
        organizationId: ORGANIZATION_ID,
        memberOus: OUS,
        memberAccountIds: [CENTRAL_ACCOUNT, '111122223333'],
      },
    });
    expect(stackSetOf(variant).StackInstancesGroup[0].DeploymentTargets).toEqual({
      OrganizationalUnitIds: OUS,
      AccountFilterType: 'INTERSECTION',
      Accounts: ['111122223333'],
    });
  });

  it('refuses an empty account list rather than deploying to every account of the OUs', () => {
    const stack = new Stack(testApp(), 'Scratch');
    expect(
      () =>
        new MemberStackSet(stack, 'Members', {
          organizationalUnitIds: OUS,
          region: 'us-east-1',
          parameters: {
            centralEventBusArn: 'arn:aws:events:us-east-1:999988887777:event-bus/keywarden-organization',
            detectorRoleArn: 'arn:aws:iam::999988887777:role/detector',
            sweepRoleArn: 'arn:aws:iam::999988887777:role/sweep',
            homeRegion: 'us-east-1',
          },
          accountIds: [],
        }),
    ).toThrow(
      'accountIds is empty; name at least one account, or leave accountIds out to deploy to every account of the OUs',
    );
  });

  it.each([
    {
      memberOus: ['ou-AB12-cd34ef56'],
      message: /organizationalUnitIds\[0\] "ou-AB12-cd34ef56" is not allowed/,
    },
    { memberOus: ['r-ab12', 'ou-1'], message: /organizationalUnitIds\[1\] "ou-1" is not allowed/ },
  ])('refuses OUs $memberOus', ({ memberOus, message }) => {
    expect(() =>
      central({
        organization: { organizationId: ORGANIZATION_ID, memberOus, managementAccountId: MANAGEMENT_ACCOUNT },
      }),
    ).toThrow(message);
  });
});

describe('KeyWardenMember (the StackSet template)', () => {
  it('forwards the detector pattern from the default bus to the central bus, with a dead-letter queue', () => {
    const t = memberBodyOf(deactivating);
    const [, rule] = only(t, 'AWS::Events::Rule');
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.EventPattern).toEqual(JSON.parse(JSON.stringify(KEY_EVENT_PATTERN)));
    expect(rule.Properties.Targets).toEqual([
      {
        Id: 'Target0',
        Arn: { Ref: 'CentralEventBusArn' },
        RoleArn: { 'Fn::GetAtt': [only(t, 'AWS::IAM::Role', 'ForwardRole')[0], 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [only(t, 'AWS::SQS::Queue')[0], 'Arn'] } },
      },
    ]);
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      AlarmActions: [{ Ref: only(t, 'AWS::SNS::Topic')[0] }],
    });
  });

  it('lets its forwarding role only put events on the central bus, assumed by EventBridge for this account', () => {
    const t = memberBodyOf(deactivating);
    expect(roleStatements(t, 'ForwardRole')).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: { Ref: 'CentralEventBusArn' } },
    ]);
    expect(only(t, 'AWS::IAM::Role', 'ForwardRole')[1].Properties.AssumeRolePolicyDocument.Statement).toEqual(
      [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'events.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnEquals: { 'aws:SourceArn': expect.anything() },
          },
        },
      ],
    );
  });

  it("pins the forwarding role's trust to the forwarding rule (aws:SourceArn), not any rule of the account", () => {
    const t = memberBodyOf(deactivating);
    const [ruleId, rule] = only(t, 'AWS::Events::Rule', 'ForwardKeyEvents');
    const [, role] = only(t, 'AWS::IAM::Role', 'ForwardRole');
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement;
    // The rule's ARN as CloudFormation resolves it; a GetAtt of the rule would make the role and rule a cycle.
    expect(rule.Properties.Name).toEqual(expect.any(String));
    expect(trust.Condition.ArnEquals).toEqual({
      'aws:SourceArn': {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':events:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:rule/${rule.Properties.Name}`,
          ],
        ],
      },
    });
    expect(ruleId).toContain('ForwardKeyEvents');
  });

  it('lets only the central detector and sweep roles assume the member role', () => {
    const [, role] = only(memberBodyOf(deactivating), 'AWS::IAM::Role', 'MemberRole');
    expect(role.Properties.RoleName).toBe('KeyWardenMember');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: {
          AWS: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':iam::',
                { 'Fn::Select': [4, { 'Fn::Split': [':', { Ref: 'DetectorRoleArn' }] }] },
                ':root',
              ],
            ],
          },
        },
        Condition: {
          ArnEquals: { 'aws:PrincipalArn': [{ Ref: 'DetectorRoleArn' }, { Ref: 'SweepRoleArn' }] },
        },
      },
    ]);
  });

  it("grants the member role the sweep's actions but the trail check (central only), Security Hub in the home region, this account only", () => {
    const statements = roleStatements(memberBodyOf(deactivating), 'MemberRole');
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        // Usage evidence: the member's own event history, read-only; LookupEvents takes no resource but "*".
        'cloudtrail:LookupEvents',
        'events:DescribeRule',
        'events:ListTargetsByRule',
        'iam:GenerateCredentialReport',
        'iam:TagUser',
        'iam:GetAccessKeyLastUsed',
        'iam:GetCredentialReport',
        'iam:GetUser',
        'iam:ListAccessKeys',
        'iam:ListUsers',
        'iam:UpdateAccessKey',
        'securityhub:BatchImportFindings',
        'securityhub:GetFindings',
      ].sort(),
    );
    const resourceOf = (sid: string) => statements.find((s) => s.Sid === sid)?.Resource;
    expect(resourceOf('LookupEvents')).toBe('*');
    expect(resourceOf('ImportFindings')).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':securityhub:',
          { Ref: 'HomeRegion' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':product/',
          { Ref: 'AWS::AccountId' },
          '/default',
        ],
      ],
    });
    expect(resourceOf('ReadFindings')).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':securityhub:',
          { Ref: 'HomeRegion' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':hub/default',
        ],
      ],
    });
    const anyUser = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':user/*']],
    };
    expect(resourceOf('ReadUsersAndKeys')).toEqual(anyUser);
    expect(resourceOf('DeactivateAccessKeys')).toEqual(anyUser);
  });

  it('names its forwarding rule for the coverage check, and lets the member role read that rule only', () => {
    // Prepare
    const t = memberBodyOf(deactivating);

    // Act
    const [, rule] = only(t, 'AWS::Events::Rule');
    const read = roleStatements(t, 'MemberRole').find((s) => s.Sid === 'ReadForwardingRule');

    // Assess
    expect(rule.Properties.Name).toBe(FORWARDING_RULE_NAME);
    expect(read).toEqual({
      Sid: 'ReadForwardingRule',
      Effect: 'Allow',
      Action: ['events:DescribeRule', 'events:ListTargetsByRule'],
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':events:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:rule/${FORWARDING_RULE_NAME}`,
          ],
        ],
      },
    });
  });

  it('tells the central sweep which bus the members must forward to', () => {
    const [busId] = only(deactivating.template, 'AWS::Events::EventBus');
    const [, sweep] = only(deactivating.template, 'AWS::Lambda::Function', 'Sweep');
    expect(sweep.Properties.Environment.Variables[ENV.organizationBusArn]).toEqual({
      'Fn::GetAtt': [busId, 'Arn'],
    });
  });

  it('grants iam:UpdateAccessKey only in deactivate mode', () => {
    for (const variant of [agnostic, member]) {
      const template = variant === agnostic ? memberBodyOf(agnostic) : variant.template;
      const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
        (policy.Properties.PolicyDocument.Statement as Statement[]).flatMap(actionsOf),
      );
      expect(actions).toContain('iam:GetUser');
      expect(actions).not.toContain('iam:UpdateAccessKey');
    }
  });

  it('names the member role after memberRoleName, the name the central functions assume', () => {
    const [, role] = only(memberBodyOf(agnostic), 'AWS::IAM::Role', 'MemberRole');
    expect(role.Properties.RoleName).toBe('SecurityAudit-KeyWarden');
    agnostic.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.memberRoleName]: 'SecurityAudit-KeyWarden' }) },
    });
  });

  it('adds a restore role only when asked: trusted by the operators, tagging the exemption tag only', () => {
    expect(
      Object.keys(
        memberBodyOf(agnostic).findResources('AWS::IAM::Role', {
          Properties: { RoleName: Match.stringLikeRegexp('Restore') },
        }),
      ),
    ).toEqual([]);
    const t = memberBodyOf(deactivating);
    const [, role] = only(t, 'AWS::IAM::Role', 'RestoreRole');
    expect(role.Properties.RoleName).toBe('KeyWardenMemberRestore');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: OPERATOR } },
    ]);
    const statements = roleStatements(t, 'RestoreRole');
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'iam:GetAccessKeyLastUsed',
        'iam:GetUser',
        'iam:ListAccessKeys',
        'iam:TagUser',
        'iam:UpdateAccessKey',
        'securityhub:BatchImportFindings',
        'securityhub:GetFindings',
        'cloudtrail:LookupEvents',
      ].sort(),
    );
    // restore proves from CloudTrail who switched a key off; LookupEvents takes no resource but "*".
    expect(statements.find((s) => s.Sid === 'LookupKeyDeactivations')).toMatchObject({
      Action: 'cloudtrail:LookupEvents',
      Resource: '*',
    });
    expect(statements.find((s) => s.Sid === 'TagUserExempt')?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['team:exempt'] },
    });
  });

  it('refuses, at deployment, a region where IAM events do not arrive', () => {
    const rule = memberBodyOf(deactivating).toJSON().Rules.IamEventRegion;
    expect(rule.Assertions[0].Assert).toEqual({
      'Fn::Contains': [['us-east-1', 'cn-north-1', 'us-gov-west-1'], { Ref: 'AWS::Region' }],
    });
  });

  it.each([
    { region: 'eu-west-1', error: /region eu-west-1 is not allowed; deploy it in us-east-1/ },
    { region: 'us-gov-east-1', error: /region us-gov-east-1 is not allowed; deploy it in us-gov-west-1/ },
    { region: 'cn-north-1', error: undefined },
  ])('as a stack of its own in $region: $error', ({ region, error }) => {
    const create = () => new KeyWardenMemberStack(testApp(), 'KeyWarden-Member', { env: { region } });
    if (error === undefined) expect(create).not.toThrow();
    else expect(create).toThrow(error);
  });
});

describe('OrganizationEventBus', () => {
  it('admits events:PutEvents from principals of the organization only', () => {
    const [, bus] = only(deactivating.template, 'AWS::Events::EventBus');
    expect(bus.Properties.Name).toBe('keywarden-organization');
    expect(bus.Properties.Policy.Statement).toEqual([
      {
        Sid: 'OrganizationPutEvents',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':events:eu-west-1:999988887777:event-bus/keywarden-organization',
            ],
          ],
        },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION_ID } },
      },
    ]);
    deactivating.template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });

  it("feeds the detector's queue with the same pattern and delivery as the default-bus rule", () => {
    const t = deactivating.template;
    const [busId] = only(t, 'AWS::Events::EventBus');
    const rules = Object.values(t.findResources('AWS::Events::Rule')).filter(
      (rule) => rule.Properties.EventPattern,
    );
    const onBus = rules.filter(
      (rule) => JSON.stringify(rule.Properties.EventBusName) === JSON.stringify({ Ref: busId }),
    );
    const onDefault = rules.filter((rule) => rule.Properties.EventBusName === undefined);
    expect(onBus).toHaveLength(1);
    expect(onDefault).toHaveLength(1);
    expect(onBus[0]?.Properties.EventPattern).toEqual(JSON.parse(JSON.stringify(KEY_EVENT_PATTERN)));
    // Same queue, same dead-letter queue, same retry policy: only the bus differs.
    expect(onBus[0]?.Properties.Targets).toEqual(onDefault[0]?.Properties.Targets);
  });

  it('refuses an organization id that is not one', () => {
    expect(() => central({ organization: { organizationId: 'o-short', memberOus: OUS } })).toThrow(
      /organizationId "o-short" is not allowed; use an organization id/,
    );
  });
});

describe('KeyWardenCentralStack', () => {
  it("gives the functions the management account's reader role, the one the management stack creates", () => {
    const expected = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, `:iam::${MANAGEMENT_ACCOUNT}:role/KeyWardenOrganizationReader`],
      ],
    };
    deactivating.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.organizationRoleArn]: expected }) },
    });
    expect(only(management.template, 'AWS::IAM::Role')[1].Properties.RoleName).toBe(
      'KeyWardenOrganizationReader',
    );
  });

  it('gives the sweep, and only the sweep, the OUs the StackSet targets: its members are their accounts', () => {
    deactivating.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('sweeps every IAM user'),
      Environment: { Variables: Match.objectLike({ [ENV.memberOus]: OUS.join(',') }) },
    });
    deactivating.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('each IAM access-key event'),
      Environment: { Variables: Match.not(Match.objectLike({ [ENV.memberOus]: Match.anyValue() })) },
    });
    const [, stackSet] = only(deactivating.template, 'AWS::CloudFormation::StackSet');
    expect(stackSet.Properties.StackInstancesGroup[0].DeploymentTargets.OrganizationalUnitIds).toEqual(OUS);
  });

  it('refuses an organization whose member accounts the sweep could not list', () => {
    expect(() =>
      central({
        env: { region: 'us-east-1' },
        organization: { organizationId: ORGANIZATION_ID, memberOus: OUS },
      }),
    ).toThrow(/organization mode needs managementAccount or memberAccountIds/);
  });
});

describe('KeyWardenManagementStack', () => {
  it('lets only the central sweep role list the accounts, and nothing else', () => {
    const t = management.template;
    const [, role] = only(t, 'AWS::IAM::Role');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: {
          AWS: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':iam::',
                { 'Fn::Select': [4, { 'Fn::Split': [':', { Ref: 'SweepRoleArn' }] }] },
                ':root',
              ],
            ],
          },
        },
        Condition: { ArnEquals: { 'aws:PrincipalArn': { Ref: 'SweepRoleArn' } } },
      },
    ]);
    const organizations = (resource: string) => ({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':organizations::', { Ref: 'AWS::AccountId' }, `:${resource}`],
      ],
    });
    expect(roleStatements(t, 'OrganizationReaderRole')).toEqual([
      { Sid: 'ListAccounts', Effect: 'Allow', Action: 'organizations:ListAccounts', Resource: '*' },
      {
        Sid: 'ListMemberOus',
        Effect: 'Allow',
        Action: ['organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
        Resource: [organizations('ou/o-*/ou-*'), organizations('root/o-*/r-*')],
      },
    ]);
    expect(t.toJSON().Outputs.OrganizationRoleArn.Value).toEqual({
      'Fn::GetAtt': [only(t, 'AWS::IAM::Role')[0], 'Arn'],
    });
  });
});

describe('organization templates', () => {
  const memberStacksOf = (variant: ReturnType<typeof central>) => {
    const stackSet = variant.stack.memberStackSet;
    if (stackSet === undefined) throw new Error('no StackSet');
    return stackSet.memberStack;
  };
  const scopes = () => [
    deactivating.app,
    agnostic.app,
    memberStacksOf(deactivating),
    memberStacksOf(agnostic),
    member.app,
    management.app,
  ];

  it('have no unacknowledged cdk-nag AwsSolutions finding, the StackSet template included', () => {
    for (const scope of scopes()) {
      const report = new AwsSolutionsChecks().validateScope(scope);
      const findings = report.violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      );
      expect(findings).toEqual([]);
    }
  });

  it('acknowledge each cdk-nag finding by its exact id, with a reason of its own', () => {
    const acknowledgements = scopes().flatMap((scope) =>
      scope.node
        .findAll()
        .flatMap((construct) =>
          construct.node.metadata
            .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
            .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
        ),
    );
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/^Annotation::AwsSolutions-(SQS3|S1|IAM5\[Resource::[^\]]+\])$/);
      expect(reason.length, id).toBeGreaterThan(80);
    }
  });

  it('pass cfn-lint without errors or warnings, the StackSet template body included', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'keywarden-member-body-'));
    const bodies = [deactivating, agnostic].map((variant, index) => {
      const file = path.join(directory, `member-body-${index}.json`);
      writeFileSync(file, stackSetOf(variant).TemplateBody as string);
      return file;
    });
    const files = [...deactivating.files, ...agnostic.files, ...member.files, ...management.files, ...bodies];
    const cfnLint = findPythonTool('cfn-lint');
    if (cfnLint === undefined) throw new Error(`cfn-lint was not found: ${installAdvice(['cfn-lint'])}`);
    // W3005 (a DependsOn that a GetAtt already implies) is how CDK wires every function to its role's policy.
    const run = spawnSync(cfnLint, ['--format', 'parseable', '--ignore-checks', 'W3005', '--', ...files], {
      encoding: 'utf8',
    });
    if (run.error !== undefined) throw new Error(`cfn-lint could not be run: ${run.error.message}`);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
