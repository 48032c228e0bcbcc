import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Aws, Fn, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, KEY_EVENT_PATTERN } from '../../functions/shared/constants.ts';
import { AccessKeyDetector, ENTRY_POINTS } from '../../infra/access-key-detector.ts';
import { IamEventForwarderStack } from '../../infra/iam-event-forwarder-stack.ts';
import { KeyWardenStack } from '../../infra/keywarden-stack.ts';
import { findPythonTool, installAdvice } from '../../scripts/lib/python-tools.mjs';
import { removeTestApps, type SynthesizedVariant, synthesizeVariant, testApp } from './synth.ts';

// Three variants, each synthesized once and shared by the tests below.
let defaults: SynthesizedVariant; // what `npx cdk synth` builds with no context: us-east-1, every default
let everything: SynthesizedVariant; // every option set, environment-agnostic
let forwarded: SynthesizedVariant; // home region eu-west-1: a forwarder stack in us-east-1

const NOTIFICATION_BUS = 'keywarden-notifications';
const ALARM_EMAIL = 'security@example.com';
const ORGANIZATION_ID = 'o-a1b2c3d4e5';
// With the stack's partition, as a management stack's output would be: the template holds no literal partition.
const READER_ARN_PARTS = ['arn:', Aws.PARTITION, ':iam::999988887777:role/KeyWardenOrganizationReader'];
const ORGANIZATION_READER_ARN = Fn.join('', READER_ARN_PARTS);

beforeAll(() => {
  defaults = synthesizeVariant({ env: { region: 'us-east-1' } }, { bundle: true });
  everything = synthesizeVariant({
    notificationBusName: NOTIFICATION_BUS,
    detector: {
      remediationMode: 'deactivate',
      keepKey: 'last-used',
      exemptTag: 'team:break-glass',
      rotationGraceHours: 72,
      inUseHours: 48,
      alarmEmail: ALARM_EMAIL,
      createTrail: true,
      logRetention: 90,
      sweepSchedule: events.Schedule.expression('cron(0 3 * * ? *)'),
      sweepSource: 'full',
      organization: {
        organizationId: ORGANIZATION_ID,
        memberRoleName: 'KeyWardenMember',
        organizationRoleArn: ORGANIZATION_READER_ARN,
      },
      detectorConcurrency: 5,
      memberSweepConcurrency: 25,
    },
  });
  forwarded = synthesizeVariant({
    env: { account: '111122223333', region: 'eu-west-1' },
    detector: { alarmEmail: ALARM_EMAIL },
  });
});

afterAll(removeTestApps);

/** Logical id of the only resource of `type` whose logical id contains `fragment`. */
function logicalId(template: Template, type: string, fragment: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(fragment));
  expect(ids, `${type} matching ${fragment}`).toHaveLength(1);
  return ids[0] as string;
}

/** Logical id of the detector's queue (not its dead-letter queue). */
function detectorQueueId(template: Template): string {
  const ids = Object.keys(template.findResources('AWS::SQS::Queue')).filter(
    (id) => id.includes('DetectorQueue') && !id.includes('DeadLetter'),
  );
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

/** Logical id of the organization sweep's account queue (not its dead-letter queue). */
function sweepAccountQueueId(template: Template): string {
  const ids = Object.keys(template.findResources('AWS::SQS::Queue')).filter(
    (id) => id.includes('SweepAccountQueue') && !id.includes('DeadLetter'),
  );
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

/** Every IAM policy statement of the template, with the logical id of the policy that holds it. */
function statements(template: Template): { policy: string; Action: string | string[]; Resource: unknown }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, resource]) =>
    (resource.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).map(
      (statement) => ({ ...statement, policy }),
    ),
  );
}

function actionsOf(statement: { Action: string | string[] }): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

const ANY_USER_ARN = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':user/*']],
};

describe('AccessKeyDetector rule', () => {
  it('matches successful IAM access-key, user-tag and user-rename calls on the default bus, with the shared pattern', () => {
    defaults.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      State: 'ENABLED',
      EventPattern: Match.exact({
        source: ['aws.iam'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['iam.amazonaws.com'],
          eventName: [
            'CreateAccessKey',
            'UpdateAccessKey',
            'DeleteAccessKey',
            'TagUser',
            'UntagUser',
            'UpdateUser',
          ],
          errorCode: [{ exists: false }],
        },
      }),
    });
    defaults.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: JSON.parse(JSON.stringify(KEY_EVENT_PATTERN)),
    });
  });

  it("tells both functions both roles' ARNs, so they know their own calls by the role (never the user agent)", () => {
    const t = defaults.template;
    const ownRoles = {
      'Fn::Join': [
        ',',
        [
          { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'DetectorRole'), 'Arn'] },
          { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'SweepRole'), 'Arn'] },
        ],
      ],
    };
    for (const fn of ['DetectorFunction', 'SweepFunction']) {
      const [resource] = Object.values(t.findResources('AWS::Lambda::Function')).filter((_, i) =>
        Object.keys(t.findResources('AWS::Lambda::Function'))[i]?.includes(fn),
      );
      expect(resource?.Properties?.Environment?.Variables?.OWN_ROLE_ARNS, fn).toEqual(ownRoles);
    }
  });

  it('delivers to the detector queue with a retry policy, a maximum event age and the dead-letter queue', () => {
    const t = defaults.template;
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.iam'] }),
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [detectorQueueId(t), 'Arn'] },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'EventDeadLetterQueue'), 'Arn'] },
          },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
  });

  it('runs the sweep every 6 hours by default, or on the configured schedule, through the same dead-letter queue', () => {
    for (const [variant, expression] of [
      [defaults, 'rate(6 hours)'],
      [everything, 'cron(0 3 * * ? *)'],
    ] as const) {
      const t = variant.template;
      t.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: expression,
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'SweepFunction'), 'Arn'] },
            DeadLetterConfig: {
              Arn: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'EventDeadLetterQueue'), 'Arn'] },
            },
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
          }),
        ],
      });
    }
  });
});

describe('AccessKeyDetector queues', () => {
  it('encrypts every queue with SSE-SQS and refuses plain HTTP; the dead-letter queues keep messages 14 days', () => {
    const t = defaults.template;
    t.resourceCountIs('AWS::SQS::Queue', 4);
    t.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    const deadLetterQueues = [
      'EventDeadLetterQueue',
      'InvocationFailureQueue',
      'DetectorQueueDeadLetterQueue',
    ];
    for (const queue of deadLetterQueues) {
      expect(
        t.findResources('AWS::SQS::Queue')[logicalId(t, 'AWS::SQS::Queue', queue)]?.Properties,
      ).toMatchObject({
        MessageRetentionPeriod: 1_209_600,
      });
    }
    const queues = [
      ...deadLetterQueues.map((queue) => logicalId(t, 'AWS::SQS::Queue', queue)),
      detectorQueueId(t),
    ];
    for (const queue of queues) {
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('lets only the two rules send to the event dead-letter queue', () => {
    const t = defaults.template;
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(t, 'AWS::SQS::Queue', 'EventDeadLetterQueue') }],
      PolicyDocument: {
        Statement: Match.arrayWith(
          ['KeyEventRule', 'SweepSchedule'].map((rule) =>
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Condition: {
                ArnEquals: {
                  'aws:SourceArn': { 'Fn::GetAtt': [logicalId(t, 'AWS::Events::Rule', rule), 'Arn'] },
                },
              },
            }),
          ),
        ),
      },
    });
  });
});

describe('AccessKeyDetector functions', () => {
  it('pins nodejs24.x on arm64, with the chosen memory and timeout', () => {
    const t = defaults.template;
    t.resourceCountIs('AWS::Lambda::Function', 2);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('each IAM access-key event'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 120,
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('sweeps every IAM user'),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 900,
    });
  });

  it('passes the defaults as environment variables, without a notification bus', () => {
    const variables = {
      [ENV.remediationMode]: 'off',
      [ENV.keepKey]: 'newest',
      [ENV.exemptTag]: 'keywarden:exempt',
      [ENV.rotationGraceHours]: '0',
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.ownRoleArns]: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      // The canary, on by default: its table.
      [ENV.canaryTableName]: { Ref: Match.stringLikeRegexp('CanaryTable') },
    };
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('each IAM access-key event'),
      Environment: { Variables: Match.exact(variables) },
    });
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('sweeps every IAM user'),
      Environment: { Variables: Match.exact({ ...variables, [ENV.sweepSource]: 'credential-report' }) },
    });
  });

  it('passes every configured option, and the notification bus ARN', () => {
    const busArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':events:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:event-bus/${NOTIFICATION_BUS}`,
        ],
      ],
    };
    const variables = {
      [ENV.remediationMode]: 'deactivate',
      [ENV.keepKey]: 'last-used',
      [ENV.exemptTag]: 'team:break-glass',
      [ENV.rotationGraceHours]: '72',
      [ENV.inUseHours]: '48',
      [ENV.eventBusName]: busArn,
      [ENV.memberRoleName]: 'KeyWardenMember',
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.ownRoleArns]: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      [ENV.canaryTableName]: { Ref: Match.stringLikeRegexp('CanaryTable') },
    };
    everything.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('each IAM access-key event'),
      Environment: { Variables: Match.exact(variables) },
    });
    everything.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('sweeps every IAM user'),
      Environment: {
        Variables: Match.exact({
          ...variables,
          [ENV.sweepSource]: 'full',
          [ENV.organizationRoleArn]: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':iam::999988887777:role/KeyWardenOrganizationReader'],
            ],
          },
          [ENV.sweepQueueUrl]: { Ref: sweepAccountQueueId(everything.template) },
        }),
      },
    });
  });

  it('bounds asynchronous retries and sends failed invocations to the failure queue', () => {
    for (const variant of [defaults, everything]) {
      const t = variant.template;
      const failureQueue = logicalId(t, 'AWS::SQS::Queue', 'InvocationFailureQueue');
      t.resourceCountIs('AWS::Lambda::EventInvokeConfig', 2);
      for (const fn of ['DetectorFunction', 'SweepFunction']) {
        t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
          FunctionName: { Ref: logicalId(t, 'AWS::Lambda::Function', fn) },
          Qualifier: '$LATEST',
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: 21_600,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failureQueue, 'Arn'] } } },
        });
      }
    }
  });

  it('writes to its own log group, kept one year by default (or as configured) and retained on delete', () => {
    for (const [variant, days] of [
      [defaults, 365],
      [everything, 90],
    ] as const) {
      const t = variant.template;
      t.resourceCountIs('AWS::Logs::LogGroup', 2);
      t.allResources('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: days },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      const functions = t.findResources('AWS::Lambda::Function');
      for (const [fn, logs] of [
        ['DetectorFunction', 'DetectorLogs'],
        ['SweepFunction', 'SweepLogs'],
      ] as const) {
        expect(functions[logicalId(t, 'AWS::Lambda::Function', fn)]?.Properties.LoggingConfig).toEqual({
          LogGroup: { Ref: logicalId(t, 'AWS::Logs::LogGroup', logs) },
        });
      }
    }
  });

  it('bundles minified ESM with a require shim, a source map and the AWS SDK inside', () => {
    const assets = readdirSync(defaults.assemblyDirectory).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const directory = path.join(defaults.assemblyDirectory, asset);
      const code = readFileSync(path.join(directory, 'index.mjs'), 'utf8');
      expect(
        code.startsWith("import { createRequire as __keywardenCreateRequire } from 'node:module';"),
      ).toBe(true);
      expect(existsSync(path.join(directory, 'index.mjs.map'))).toBe(true);
      // An SDK left external would appear as an import of an @aws-sdk package.
      expect(code).not.toMatch(/(from\s*|import\(\s*)["']@aws-sdk\//);
      expect(code).toContain('iam.amazonaws.com');
      // Minified: whole modules per line (only newlines inside string literals survive).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    }
  });
});

describe('AccessKeyDetector bundle splitting', () => {
  it('ships the detector with its SDK clients in the file loaded at init and the unused credential providers in chunks', () => {
    const assets = readdirSync(defaults.assemblyDirectory)
      .filter((name) => name.startsWith('asset.'))
      .map((name) => path.join(defaults.assemblyDirectory, name));
    const chunkText = (directory: string) =>
      readdirSync(path.join(directory, 'chunks'))
        .map((file) => readFileSync(path.join(directory, 'chunks', file), 'utf8'))
        .join('\n');
    for (const directory of assets) expect(existsSync(path.join(directory, 'chunks'))).toBe(true);
    // The detector's entry file builds the IAM client at init; the shared-config credential provider is a chunk.
    const detector = assets.filter((directory) =>
      readFileSync(path.join(directory, 'index.mjs'), 'utf8').includes('keywardenWarmUpResponse'),
    );
    expect(detector).toHaveLength(1);
    expect(readFileSync(path.join(detector[0] as string, 'index.mjs'), 'utf8')).toContain('ListAccessKeys');
    expect(chunkText(detector[0] as string)).toContain('credential_process');
  });
});

describe('AccessKeyDetector permissions', () => {
  it('grants the IAM reads on this account users and Security Hub on its own product and hub', () => {
    const t = defaults.template;
    // us-east-1 is known at synth here, so it is a literal; partition and account stay references.
    const securityHubArn = (resource: unknown[]) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':securityhub:us-east-1:', ...resource]],
    });
    for (const role of ['DetectorRole', 'SweepRole']) {
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: logicalId(t, 'AWS::IAM::Role', role) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'ReadUsersAndKeys',
              Effect: 'Allow',
              Action: ['iam:GetUser', 'iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed'],
              Resource: ANY_USER_ARN,
            },
            {
              Sid: 'ImportFindings',
              Effect: 'Allow',
              Action: 'securityhub:BatchImportFindings',
              Resource: securityHubArn([
                { Ref: 'AWS::AccountId' },
                ':product/',
                { Ref: 'AWS::AccountId' },
                '/default',
              ]),
            },
            {
              Sid: 'ReadFindings',
              Effect: 'Allow',
              Action: 'securityhub:GetFindings',
              Resource: securityHubArn([{ Ref: 'AWS::AccountId' }, ':hub/default']),
            },
          ]),
        },
      });
    }
  });

  it('grants iam:UpdateAccessKey to neither function unless remediation is deactivate', () => {
    const granted = statements(defaults.template).filter((s) => actionsOf(s).includes('iam:UpdateAccessKey'));
    expect(granted).toEqual([]);
  });

  it('grants iam:UpdateAccessKey on this account users to both functions when remediation is deactivate', () => {
    const t = everything.template;
    const granted = statements(t).filter((s) => actionsOf(s).includes('iam:UpdateAccessKey'));
    expect(granted.map((s) => s.policy).sort()).toEqual(
      [
        logicalId(t, 'AWS::IAM::Policy', 'DetectorRole'),
        logicalId(t, 'AWS::IAM::Policy', 'SweepRole'),
      ].sort(),
    );
    for (const statement of granted) {
      expect(statement).toMatchObject({ Action: 'iam:UpdateAccessKey', Resource: ANY_USER_ARN });
    }
  });

  it('grants the account-wide listings (users, trails) to the sweep only, and LookupEvents to both, on "*" because those actions have no resource type', () => {
    for (const variant of [defaults, everything]) {
      const t = variant.template;
      const lookup = (role: string) => ({
        policy: logicalId(t, 'AWS::IAM::Policy', role),
        Sid: 'LookupEvents',
        Effect: 'Allow',
        Action: 'cloudtrail:LookupEvents',
        Resource: '*',
      });
      const wide = statements(t).filter((s) => s.Resource === '*');
      const isLookup = (s: object) => (s as { Sid?: string }).Sid === 'LookupEvents';
      expect(wide.filter(isLookup)).toEqual([lookup('DetectorRole'), lookup('SweepRole')]);
      expect(wide.filter((s) => !isLookup(s))).toEqual([
        {
          policy: logicalId(t, 'AWS::IAM::Policy', 'SweepRole'),
          Sid: 'ListAllUsers',
          Effect: 'Allow',
          Action: ['iam:ListUsers', 'iam:GenerateCredentialReport', 'iam:GetCredentialReport'],
          Resource: '*',
        },
        {
          policy: logicalId(t, 'AWS::IAM::Policy', 'SweepRole'),
          Sid: 'ListTrails',
          Effect: 'Allow',
          Action: 'cloudtrail:DescribeTrails',
          Resource: '*',
        },
      ]);
    }
  });

  it('grants the trail reads of the blind-path check to the sweep only, on trails of any region and account', () => {
    for (const variant of [defaults, everything]) {
      const t = variant.template;
      const reads = statements(t).filter((s) =>
        actionsOf(s).some((a) => a === 'cloudtrail:GetTrailStatus' || a === 'cloudtrail:GetEventSelectors'),
      );
      expect(reads).toEqual([
        {
          policy: logicalId(t, 'AWS::IAM::Policy', 'SweepRole'),
          Sid: 'ReadTrails',
          Effect: 'Allow',
          Action: ['cloudtrail:GetTrailStatus', 'cloudtrail:GetEventSelectors'],
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudtrail:*:*:trail/*']] },
        },
      ]);
    }
  });

  it('grants events:PutEvents only with a notification bus, and only on that bus', () => {
    expect(
      statements(defaults.template).filter((s) => actionsOf(s).some((a) => a.startsWith('events:'))),
    ).toEqual([]);
    const putEvents = statements(everything.template).filter((s) =>
      actionsOf(s).includes('events:PutEvents'),
    );
    expect(putEvents).toHaveLength(2);
    for (const statement of putEvents) {
      expect(JSON.stringify(statement.Resource)).toContain(`:event-bus/${NOTIFICATION_BUS}`);
    }
  });

  it('grants each function exactly the AWS actions its bundled code calls, when every option is on', async () => {
    // IAM prefix of each SDK client; GetCallerIdentity needs no permission (STS always allows it).
    const prefixes: Record<string, string> = {
      iam: 'iam',
      securityhub: 'securityhub',
      eventbridge: 'events',
      sts: 'sts',
      cloudtrail: 'cloudtrail',
      sqs: 'sqs',
      organizations: 'organizations',
      dynamodb: 'dynamodb',
    };
    const t = everything.template;
    for (const kind of ['detector', 'sweep'] as const) {
      const called = await actionsCalledBy(ENTRY_POINTS[kind], prefixes);
      called.delete('sts:GetCallerIdentity');
      // Granted in the management account, to the reader role the sweep assumes (organizationRoleArn).
      for (const action of [
        'organizations:ListAccounts',
        'organizations:ListAccountsForParent',
        'organizations:ListOrganizationalUnitsForParent',
      ]) {
        called.delete(action);
      }
      // The coverage check reads each member's forwarding rule through the member role, which the member stack
      // grants these two (checked with the member stack's tests).
      if (kind === 'sweep') {
        expect(called.delete('events:DescribeRule') && called.delete('events:ListTargetsByRule')).toBe(true);
      }
      // The account queue: sqs:SendMessage allows SendMessageBatch (checked with the queue's own tests).
      called.delete('sqs:SendMessageBatch');
      const role = logicalId(t, 'AWS::IAM::Policy', kind === 'detector' ? 'DetectorRole' : 'SweepRole');
      const granted = statements(t)
        .filter((s) => s.policy === role)
        .flatMap(actionsOf)
        // Its own log group and failure queue: infrastructure, not calls the code makes.
        .filter((action) => !action.startsWith('logs:') && !action.startsWith('sqs:'));
      expect([...new Set(granted)].sort(), kind).toEqual([...called].sort());
    }
  });

  it('uses no wildcard action, no managed policy and no literal partition', () => {
    for (const variant of [defaults, everything, forwarded]) {
      for (const stack of variant.stacks) {
        const template = Template.fromStack(stack);
        for (const statement of statements(template)) {
          for (const action of actionsOf(statement)) expect(action, statement.policy).not.toContain('*');
        }
        expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain('ManagedPolicyArns');
        expect(JSON.stringify(template.toJSON())).not.toMatch(/arn:aws/);
      }
    }
  });

  it('lets each function write only to its own log group', () => {
    const t = defaults.template;
    for (const [role, logs] of [
      ['DetectorRole', 'DetectorLogs'],
      ['SweepRole', 'SweepLogs'],
    ] as const) {
      const logStatements = statements(t).filter(
        (s) =>
          s.policy === logicalId(t, 'AWS::IAM::Policy', role) &&
          actionsOf(s).some((a) => a.startsWith('logs:')),
      );
      expect(logStatements).toEqual([
        expect.objectContaining({
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::Logs::LogGroup', logs), 'Arn'] },
        }),
      ]);
    }
  });
});

describe('AccessKeyDetector detector queue', () => {
  it('keeps events 4 days, receives a failed one again after 3 minutes, and dead-letters it after 5 receives', () => {
    const t = defaults.template;
    t.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 180,
      MessageRetentionPeriod: 345_600,
      RedrivePolicy: {
        deadLetterTargetArn: {
          'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'DetectorQueueDeadLetterQueue'), 'Arn'],
        },
        maxReceiveCount: 5,
      },
    });
    // Lambda refuses a visibility timeout shorter than the function's.
    const [detector] = Object.values(t.findResources('AWS::Lambda::Function')).filter(
      (resource) => resource.Properties.Timeout === 120,
    );
    expect(detector).toBeDefined();
  });

  it('drains the queue into the detector one message at a time, at most 2 at once, with partial batch responses', () => {
    const t = defaults.template;
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(t, 'AWS::Lambda::Function', 'DetectorFunction') },
      EventSourceArn: { 'Fn::GetAtt': [detectorQueueId(t), 'Arn'] },
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('takes the configured concurrency', () => {
    everything.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('lets only the key-event rule send to the detector queue, and only the detector receive from it', () => {
    const t = defaults.template;
    const rule = Object.entries(t.findResources('AWS::Events::Rule')).find(
      ([, resource]) => resource.Properties.EventPattern !== undefined,
    )?.[0];
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: detectorQueueId(t) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
          }),
        ]),
      },
    });
    const receivers = statements(t).filter((statement) =>
      actionsOf(statement).includes('sqs:ReceiveMessage'),
    );
    expect(receivers).toHaveLength(1);
    expect(receivers[0]?.policy).toContain('DetectorRole');
    expect(receivers[0]?.Resource).toEqual({ 'Fn::GetAtt': [detectorQueueId(t), 'Arn'] });
  });
});

describe('AccessKeyDetector alarms', () => {
  it('alarms on each dead-letter queue holding a message, and on errors and throttles of each function', () => {
    const t = defaults.template;
    const topic = { Ref: logicalId(t, 'AWS::SNS::Topic', 'AlarmTopic') };
    t.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    for (const queue of ['EventDeadLetterQueue', 'InvocationFailureQueue', 'DetectorQueueDeadLetterQueue']) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', queue), 'QueueName'] },
          },
        ],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    }
    for (const fn of ['DetectorFunction', 'SweepFunction']) {
      for (const metric of ['Errors', 'Throttles']) {
        t.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(t, 'AWS::Lambda::Function', fn) } }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: [topic],
        });
      }
    }
  });

  it('creates a TLS-only alarm topic, with an e-mail subscription only when an address is given', () => {
    defaults.template.resourceCountIs('AWS::SNS::Subscription', 0);
    defaults.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    everything.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: ALARM_EMAIL,
      TopicArn: { Ref: logicalId(everything.template, 'AWS::SNS::Topic', 'AlarmTopic') },
    });
  });

  it('subscribes the e-mail address to a topic passed in', () => {
    const app = testApp();
    const stack = new Stack(app, 'WithTopic');
    const topic = new sns.Topic(stack, 'ExistingTopic');
    const detector = new AccessKeyDetector(stack, 'Detector', { alarmTopic: topic, alarmEmail: ALARM_EMAIL });
    const t = Template.fromStack(stack);
    expect(detector.alarmTopic).toBe(topic);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::Subscription', {
      Endpoint: ALARM_EMAIL,
      TopicArn: { Ref: logicalId(t, 'AWS::SNS::Topic', 'ExistingTopic') },
    });
  });
});

describe('AccessKeyDetector trail', () => {
  it('creates no trail by default', () => {
    defaults.template.resourceCountIs('AWS::CloudTrail::Trail', 0);
    defaults.template.resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('creates a multi-region trail of management write events, logging to an encrypted, versioned, TLS-only bucket', () => {
    const t = everything.template;
    const bucket = logicalId(t, 'AWS::S3::Bucket', 'TrailBucket');
    t.hasResourceProperties('AWS::CloudTrail::Trail', {
      IsLogging: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      EnableLogFileValidation: true,
      EventSelectors: [{ IncludeManagementEvents: true, ReadWriteType: 'WriteOnly' }],
      S3BucketName: { Ref: bucket },
    });
    t.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      }),
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:PutObject',
          }),
        ]),
      },
    });
  });
});

describe('KeyWardenStack placement', () => {
  it('outputs the ARNs of its two function roles, the KEYWARDEN_ROLE_ARNS keywarden restore proves a deactivation by', () => {
    const roleArn = (logicalIdPrefix: string) => {
      const roles = Object.keys(defaults.template.findResources('AWS::IAM::Role')).filter((id) =>
        id.startsWith(logicalIdPrefix),
      );
      expect(roles).toHaveLength(1);
      return { 'Fn::GetAtt': [roles[0], 'Arn'] };
    };
    defaults.template.hasOutput('KeyWardenRoleArns', {
      Value: { 'Fn::Join': [',', [roleArn('AccessKeyDetectorDetector'), roleArn('AccessKeyDetectorSweep')]] },
      Description: Match.stringLikeRegexp('KEYWARDEN_ROLE_ARNS'),
    });
  });

  it('adds no region rule and no forwarder in us-east-1', () => {
    expect(defaults.template.toJSON().Rules?.IamEventRegion).toBeUndefined();
    expect(defaults.stack.forwarder).toBeUndefined();
    expect(defaults.stacks).toHaveLength(1);
  });

  it('refuses, at deployment, any region but the IAM event regions when the region is unknown at synth', () => {
    expect(everything.stack.forwarder).toBeUndefined();
    expect(everything.template.toJSON().Rules.IamEventRegion).toEqual({
      Assertions: [
        {
          // Each region belongs to one partition: in aws only us-east-1 passes, as before.
          Assert: {
            'Fn::Contains': [['us-east-1', 'cn-north-1', 'us-gov-west-1'], { Ref: 'AWS::Region' }],
          },
          AssertDescription: expect.stringContaining('-c homeRegion=<region>'),
        },
      ],
    });
  });

  it('forwards the same events from us-east-1 to the home region default bus, with a dead-letter queue and alarm', () => {
    const forwarder = forwarded.stack.forwarder;
    expect(forwarder).toBeInstanceOf(IamEventForwarderStack);
    if (forwarder === undefined) return;
    expect(forwarder.region).toBe('us-east-1');
    expect(forwarder.account).toBe('111122223333');
    expect(forwarded.stack.dependencies).toContain(forwarder);
    expect(forwarded.template.toJSON().Rules?.IamEventRegion).toBeUndefined();

    const t = Template.fromStack(forwarder);
    const homeBus = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:111122223333:event-bus/default'],
      ],
    };
    t.resourceCountIs('AWS::Events::Rule', 1);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: JSON.parse(JSON.stringify(KEY_EVENT_PATTERN)),
      Targets: [
        Match.objectLike({
          Arn: homeBus,
          RoleArn: Match.anyValue(),
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'ForwardDeadLetterQueue'), 'Arn'] },
          },
        }),
      ],
    });
    expect(statements(t)).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 'events:PutEvents', Resource: homeBus }),
    ]);
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      AlarmActions: [{ Ref: logicalId(t, 'AWS::SNS::Topic', 'AlarmTopic') }],
    });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: ALARM_EMAIL });
  });

  it("forwards through a role only EventBridge may assume, for this account's forwarding rule only", () => {
    const forwarder = forwarded.stack.forwarder;
    if (forwarder === undefined) throw new Error('no forwarder');
    const t = Template.fromStack(forwarder);
    const rules = t.findResources('AWS::Events::Rule');
    const [rule] = Object.values(rules);
    const roleArn = rule?.Properties.Targets[0].RoleArn;
    const roleId = roleArn['Fn::GetAtt'][0] as string;
    const role = t.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': '111122223333' },
          ArnEquals: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  `:events:us-east-1:111122223333:rule/${rule?.Properties.Name}`,
                ],
              ],
            },
          },
        },
      },
    ]);
  });

  it('keeps the detector and its rule in the home region', () => {
    expect(forwarded.stack.region).toBe('eu-west-1');
    forwarded.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: JSON.parse(JSON.stringify(KEY_EVENT_PATTERN)),
    });
  });

  it.each([
    { region: 'cn-north-1', forwarderRegion: undefined },
    { region: 'cn-northwest-1', forwarderRegion: 'cn-north-1' },
    { region: 'us-gov-west-1', forwarderRegion: undefined },
    { region: 'us-gov-east-1', forwarderRegion: 'us-gov-west-1' },
  ])('takes the partition from $region: forwarder in $forwarderRegion', ({ region, forwarderRegion }) => {
    // Prepare
    const app = testApp();

    // Act
    const stack = new KeyWardenStack(app, 'Partitioned', { env: { region } });

    // Assess
    expect(stack.forwarder?.region).toBe(forwarderRegion);
    if (forwarderRegion !== undefined) {
      Template.fromStack(stack.forwarder as Stack).hasResourceProperties('AWS::Events::Rule', {
        EventPattern: JSON.parse(JSON.stringify(KEY_EVENT_PATTERN)),
        Targets: [
          Match.objectLike({
            Arn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`:events:${region}:`])] }),
          }),
        ],
      });
    }
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('IAM events'))).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  it('warns instead of forwarding in a partition whose IAM event region is unknown', () => {
    const app = testApp();
    const stack = new KeyWardenStack(app, 'Isolated', { env: { region: 'us-iso-east-1' } });
    expect(stack.forwarder).toBeUndefined();
    Annotations.fromStack(stack).hasWarning(
      '*',
      Match.stringLikeRegexp('Partition aws-iso: the region where IAM events reach EventBridge is not known'),
    );
  });
});

describe('KeyWarden templates', () => {
  it('have no unacknowledged cdk-nag AwsSolutions finding', () => {
    for (const variant of [defaults, everything, forwarded]) {
      const report = new AwsSolutionsChecks().validateScope(variant.app);
      const findings = report.violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      );
      expect(findings).toEqual([]);
    }
  });

  it('acknowledge each cdk-nag finding by its exact id, with a reason of its own', () => {
    const acknowledgements = [defaults, everything, forwarded].flatMap((variant) =>
      variant.app.node
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

  it('pass cfn-lint without errors or warnings', () => {
    const files = [defaults, everything, forwarded].flatMap((variant) => variant.templateFiles);
    expect(files).toHaveLength(4);
    // W3005 (a DependsOn that a GetAtt already implies) is how CDK wires every function to its role's policy.
    const cfnLint = findPythonTool('cfn-lint');
    if (cfnLint === undefined) throw new Error(`cfn-lint was not found: ${installAdvice(['cfn-lint'])}`);
    const run = spawnSync(cfnLint, ['--format', 'parseable', '--ignore-checks', 'W3005', '--', ...files], {
      encoding: 'utf8',
    });
    if (run.error !== undefined) throw new Error(`cfn-lint could not be run: ${run.error.message}`);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

/** The `service:Operation` actions of every AWS SDK command the bundle of `entry` imports, per its source. */
async function actionsCalledBy(entry: string, prefixes: Record<string, string>): Promise<Set<string>> {
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
  });
  const sources = Object.keys(metafile.inputs).filter((input) => input.startsWith('functions/'));
  expect(sources.length).toBeGreaterThan(1);
  const actions = new Set<string>();
  // Static `import { XCommand } from '@aws-sdk/client-y'` and `const { XCommand } = await import('@aws-sdk/client-y')`.
  const imports = /\{([^}]*)\}\s*(?:from\s*|=\s*await\s+import\(\s*)['"]@aws-sdk\/client-([a-z-]+)['"]/g;
  for (const source of sources) {
    for (const [, names = '', client = ''] of readFileSync(source, 'utf8').matchAll(imports)) {
      const prefix = prefixes[client];
      if (prefix === undefined)
        throw new Error(`${source} uses @aws-sdk/client-${client}: add its IAM prefix to the test`);
      for (const name of names.split(',').map((part) => part.replace(/^\s*type\s+/, '').trim())) {
        const command = /^(\w+)Command$/.exec(name.split(/\s+as\s+/)[0] ?? '');
        if (command?.[1]) actions.add(`${prefix}:${command[1]}`);
      }
    }
  }
  return actions;
}

describe('KeyWarden with exemption approvers', () => {
  const APPROVER = 'arn:aws:iam::123456789012:role/security-admin';
  let approved: SynthesizedVariant;
  beforeAll(() => {
    approved = synthesizeVariant({
      env: { region: 'us-east-1' },
      detector: { exemptionApprovers: [APPROVER], maxExemptionDays: 30 },
    });
  });

  it('grants cloudtrail:LookupEvents to both functions, on "*" (no resource type), with or without approvers', () => {
    // Usage evidence reads it for every violation; exemption approvers use the same grant.
    for (const variant of [approved, defaults, everything]) {
      const t = variant.template;
      const lookups = statements(t).filter((s) => actionsOf(s).includes('cloudtrail:LookupEvents'));
      expect(lookups.map((s) => s.policy).sort()).toEqual(
        [
          logicalId(t, 'AWS::IAM::Policy', 'DetectorRole'),
          logicalId(t, 'AWS::IAM::Policy', 'SweepRole'),
        ].sort(),
      );
      for (const statement of lookups) {
        expect(statement).toMatchObject({
          Sid: 'LookupEvents',
          Action: 'cloudtrail:LookupEvents',
          Resource: '*',
        });
      }
    }
  });

  it('passes EXEMPTION_APPROVERS and MAX_EXEMPTION_DAYS to both functions', () => {
    const functions = Object.values(approved.template.findResources('AWS::Lambda::Function'));
    const keyWarden = functions.filter((fn) => /KeyWarden: /.test(String(fn.Properties.Description)));
    expect(keyWarden).toHaveLength(2);
    for (const fn of keyWarden) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        EXEMPTION_APPROVERS: APPROVER,
        MAX_EXEMPTION_DAYS: '30',
      });
    }
    for (const fn of Object.values(defaults.template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment?.Variables ?? {}).not.toHaveProperty('EXEMPTION_APPROVERS');
      expect(fn.Properties.Environment?.Variables ?? {}).not.toHaveProperty('MAX_EXEMPTION_DAYS');
    }
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(approved.app);
    expect(
      report.violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      ),
    ).toEqual([]);
  });
});
