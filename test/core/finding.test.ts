import { describe, expect, it } from 'vitest';
import type { KeyOrigin } from '../../functions/core/attribution.ts';
import { evaluateUser } from '../../functions/core/evaluate.ts';
import {
  buildArchivedFinding,
  buildFinding,
  buildRenamedFinding,
  type Finding,
  type FindingInput,
  findingIdFor,
  productArnFor,
  REMEDIATION_URL,
  updateCommand,
} from '../../functions/core/finding.ts';
import type { ActionTaken } from '../../functions/core/remediation.ts';
import type { AccessKey, IamUser, Trigger } from '../../functions/core/types.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import {
  ACCOUNT,
  EVENT_TRIGGER,
  NEW_KEY,
  NOW,
  OLD_KEY,
  POLICY,
  SWEEP_TRIGGER,
  snapshot,
} from './builders.ts';

const UPDATED_AT = new Date('2026-06-01T12:00:01.000Z');
const FIELD = 'keywarden/detector';

type Evaluated = FindingInput['evaluation'];

function evaluated(keys: readonly AccessKey[], user: Partial<IamUser> = {}, policy = POLICY): Evaluated {
  const evaluation = evaluateUser(user.userName ?? 'alice', snapshot(keys, user), policy, NOW);
  if (evaluation.verdict === 'user-gone') throw new Error('unexpected user-gone');
  return evaluation;
}

function finding(
  evaluation: Evaluated,
  action: ActionTaken = { kind: 'none' },
  trigger: Trigger = EVENT_TRIGGER,
): Finding {
  const built = buildFinding({ account: ACCOUNT, evaluation, action, trigger, updatedAt: UPDATED_AT });
  expectValidAsff(built);
  return built;
}

const violation = evaluated([OLD_KEY, NEW_KEY]);
const compliant = evaluated([OLD_KEY]);
const exempt = evaluated([OLD_KEY, NEW_KEY], { tags: { 'keywarden:exempt': 'true' } });
const deactivated: ActionTaken = {
  kind: 'deactivated',
  keys: [OLD_KEY],
  at: new Date('2026-06-01T12:00:00.500Z'),
  keysAfter: [{ ...OLD_KEY, status: 'Inactive' }, NEW_KEY],
};

describe('buildFinding', () => {
  // Lifecycle: the state of the user decides status, severity and record state.
  it.each([
    {
      case: 'a violation, detect only',
      evaluation: violation,
      action: { kind: 'none' },
      status: 'FAILED',
      label: 'MEDIUM',
    },
    {
      case: 'a violation, dry run',
      evaluation: violation,
      action: { kind: 'dry-run', keys: [OLD_KEY] },
      status: 'FAILED',
      label: 'MEDIUM',
    },
    {
      case: 'a violation fixed by deactivation',
      evaluation: violation,
      action: deactivated,
      status: 'PASSED',
      label: 'INFORMATIONAL',
    },
    {
      case: 'a violation whose deactivation was aborted',
      evaluation: violation,
      action: { kind: 'aborted', reason: 'x' },
      status: 'FAILED',
      label: 'MEDIUM',
    },
    {
      case: 'a violation in rotation grace',
      evaluation: violation,
      action: { kind: 'postponed', until: new Date('2026-06-02T00:00:00Z') },
      status: 'FAILED',
      label: 'MEDIUM',
    },
    {
      case: 'one active key',
      evaluation: compliant,
      action: { kind: 'none' },
      status: 'PASSED',
      label: 'INFORMATIONAL',
    },
    {
      case: 'no active key',
      evaluation: evaluated([]),
      action: { kind: 'none' },
      status: 'PASSED',
      label: 'INFORMATIONAL',
    },
    { case: 'an exempt user', evaluation: exempt, action: { kind: 'none' }, status: 'WARNING', label: 'LOW' },
  ] as { case: string; evaluation: Evaluated; action: ActionTaken; status: string; label: string }[])(
    'is $status ($label) for $case',
    ({ evaluation, action, status, label }) => {
      const built = finding(evaluation, action);
      expect(built.Compliance?.Status).toBe(status);
      expect(built.Severity?.Label).toBe(label);
      expect(built.FindingProviderFields?.Severity?.Label).toBe(label);
      expect(built.RecordState).toBe('ACTIVE');
      expect(built.Workflow).toBeUndefined();
    },
  );

  it('has one deterministic Id per user, whatever the case of the name or the state', () => {
    const ids = new Set([
      finding(violation).Id,
      finding(compliant).Id,
      finding(evaluated([OLD_KEY, NEW_KEY], { userName: 'ALICE' })).Id,
    ]);
    expect([...ids]).toEqual([findingIdFor('123456789012', 'alice')]);
    expect(findingIdFor('123456789012', 'bob')).not.toBe(findingIdFor('123456789012', 'alice'));
  });

  it('builds the custom-integration product ARN with the partition and the account', () => {
    expect(finding(violation).ProductArn).toBe(
      'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default',
    );
    expect(productArnFor({ accountId: '111122223333', partition: 'aws-cn', region: 'cn-north-1' })).toBe(
      'arn:aws-cn:securityhub:cn-north-1:111122223333:product/111122223333/default',
    );
  });

  it('is valid in another partition, with the partition on every resource', () => {
    const account = { accountId: '111122223333', partition: 'aws-us-gov', region: 'us-gov-west-1' };
    const built = buildFinding({
      account,
      evaluation: violation,
      action: { kind: 'none' },
      trigger: EVENT_TRIGGER,
      updatedAt: UPDATED_AT,
    });
    expectValidAsff(built, '111122223333', 'aws-us-gov');
    expect(built.Resources?.map((r) => r.Partition)).toEqual(['aws-us-gov', 'aws-us-gov', 'aws-us-gov']);
  });

  describe('a violation', () => {
    const built = finding(violation);

    it('names the user and the number of active keys in the title', () => {
      expect(built.Title).toBe('IAM user alice has 2 active access keys (CIS 1.13 allows one)');
    });

    it('says which key to keep and why, and what to switch off, in detect-only mode', () => {
      expect(built.Description).toContain(
        'Keep AKIANEW0000000000002 because it is the newest active key (KEEP_KEY=newest)',
      );
      expect(built.Description).toContain('before switching off AKIAOLD0000000000001');
      expect(built.Description).toContain('Detect-only mode: KeyWarden changed nothing.');
      expect(built.Remediation?.Recommendation?.Text).toContain(
        updateCommand('alice', 'AKIAOLD0000000000001', 'Inactive'),
      );
      expect(built.Remediation?.Recommendation?.Url).toBe(REMEDIATION_URL);
      expect(built.ProductFields).toMatchObject({
        [`${FIELD}/keyToKeep`]: 'AKIANEW0000000000002',
        [`${FIELD}/keysToDeactivate`]: 'AKIAOLD0000000000001',
        [`${FIELD}/action`]: 'none',
      });
    });

    it('gives the benchmark advice: a key in use and under 90 days old', () => {
      expect(built.Remediation?.Recommendation?.Text).toMatch(
        /applications use and that is under 90 days old/,
      );
    });

    it('says when, where and with which service each active key was last used', () => {
      expect(built.Description).toContain(
        'AKIAOLD0000000000001 (created 2026-01-10, last used 2026-05-25T09:30:00.000Z by s3 in eu-west-1)',
      );
      expect(built.Description).toContain('AKIANEW0000000000002 (created 2026-06-01, never used)');
      expect(built.ProductFields).toMatchObject({
        [`${FIELD}/key1/accessKeyId`]: 'AKIAOLD0000000000001',
        [`${FIELD}/key1/lastUsedDate`]: '2026-05-25T09:30:00.000Z',
        [`${FIELD}/key1/lastUsedService`]: 's3',
        [`${FIELD}/key1/lastUsedRegion`]: 'eu-west-1',
        [`${FIELD}/key2/lastUsedDate`]: 'never',
        [`${FIELD}/key2/lastUsedService`]: 'N/A',
      });
    });

    it('lists the user and every key as resources', () => {
      expect(built.Resources).toEqual([
        {
          Type: 'AwsIamUser',
          Id: 'arn:aws:iam::123456789012:user/alice',
          Partition: 'aws',
          Region: 'us-east-1',
          Details: {
            AwsIamUser: {
              UserName: 'alice',
              UserId: 'AIDAEXAMPLEUSERID0001',
              Path: '/',
              CreateDate: '2024-01-01T00:00:00.000Z',
            },
          },
        },
        ...[OLD_KEY, NEW_KEY].map((k) => ({
          Type: 'AwsIamAccessKey',
          Id: `AWS::IAM::AccessKey:${k.accessKeyId}`,
          Partition: 'aws',
          Region: 'us-east-1',
          Details: {
            AwsIamAccessKey: {
              AccessKeyId: k.accessKeyId,
              Status: 'Active',
              CreatedAt: k.createDate.toISOString(),
              PrincipalId: 'AIDAEXAMPLEUSERID0001',
              PrincipalName: 'alice',
              PrincipalType: 'IAMUser',
              AccountId: '123456789012',
            },
          },
        })),
      ]);
    });

    it('records the trigger: event, id, time, actor, source IP and user agent', () => {
      expect(built.ProductFields).toMatchObject({
        [`${FIELD}/trigger/eventName`]: 'CreateAccessKey',
        [`${FIELD}/trigger/eventId`]: EVENT_TRIGGER.eventId,
        [`${FIELD}/trigger/eventTime`]: EVENT_TRIGGER.eventTime,
        [`${FIELD}/trigger/actorArn`]: EVENT_TRIGGER.actorArn,
        [`${FIELD}/trigger/actorType`]: 'IAMUser',
        [`${FIELD}/trigger/sourceIp`]: '203.0.113.7',
        [`${FIELD}/trigger/userAgent`]: 'aws-cli/2.15.0',
      });
      expect(built.Description).toContain(
        'Trigger: CreateAccessKey of AKIANEW0000000000002 by arn:aws:iam::123456789012:user/admin (IAMUser) from 203.0.113.7',
      );
    });

    it('cites CIS v3.0.0 1.13 and the same control in v5.0.0 (1.12)', () => {
      expect(built.Compliance?.RelatedRequirements).toEqual(
        expect.arrayContaining([
          'CIS AWS Foundations Benchmark v3.0.0/1.13',
          'CIS AWS Foundations Benchmark v5.0.0/1.12',
        ]),
      );
      expect(built.Compliance?.StatusReasons).toEqual([
        { ReasonCode: 'MORE_THAN_ONE_ACTIVE_KEY', Description: '2 active access keys' },
      ]);
    });

    it('dates the violation from the newest key, never after UpdatedAt', () => {
      expect(built.CreatedAt).toBe(NEW_KEY.createDate.toISOString());
      const future = { ...NEW_KEY, createDate: new Date('2026-06-01T12:00:05.000Z') };
      expect(finding(evaluated([OLD_KEY, future])).CreatedAt).toBe(UPDATED_AT.toISOString());
    });
  });

  it('in dry run stays FAILED and says what would be done', () => {
    const built = finding(violation, { kind: 'dry-run', keys: [OLD_KEY] });
    expect(built.Description).toContain(
      `Dry run: KeyWarden would deactivate AKIAOLD0000000000001 (${updateCommand('alice', 'AKIAOLD0000000000001', 'Inactive')}).`,
    );
    expect(built.ProductFields?.[`${FIELD}/wouldDeactivate`]).toBe('AKIAOLD0000000000001');
  });

  it('after deactivation is PASSED and names the key, when, why and how to re-activate it', () => {
    const built = finding(violation, deactivated);
    const reactivate =
      'aws iam update-access-key --user-name alice --access-key-id AKIAOLD0000000000001 --status Active';
    expect(built.Title).toBe(
      'KeyWarden deactivated access key AKIAOLD0000000000001 of IAM user alice (CIS 1.13)',
    );
    expect(built.Description).toContain('deactivated AKIAOLD0000000000001 at 2026-06-01T12:00:00.500Z');
    expect(built.Description).toContain('kept AKIANEW0000000000002 because it is the newest active key');
    expect(built.Description).toContain(`To re-activate: ${reactivate}`);
    expect(built.Remediation?.Recommendation?.Text).toContain(reactivate);
    expect(built.ProductFields).toMatchObject({
      [`${FIELD}/deactivatedKeys`]: 'AKIAOLD0000000000001',
      [`${FIELD}/deactivatedAt`]: '2026-06-01T12:00:00.500Z',
      [`${FIELD}/reactivateCommand`]: reactivate,
    });
    const oldKey = built.Resources?.find((r) => r.Id === 'AWS::IAM::AccessKey:AKIAOLD0000000000001');
    expect(oldKey?.Details?.AwsIamAccessKey?.Status).toBe('Inactive');
    expect(built.ProductFields?.[`${FIELD}/activeKeyCount`]).toBe('1');
    expect(finding(violation).ProductFields?.[`${FIELD}/activeKeyCount`]).toBe('2');
  });

  it('when deactivation was aborted stays FAILED and says why', () => {
    const built = finding(violation, {
      kind: 'aborted',
      reason: 'the key to keep, AKIANEW0000000000002, is no longer active',
    });
    expect(built.Description).toContain(
      'KeyWarden did not deactivate: the key to keep, AKIANEW0000000000002, is no longer active.',
    );
  });

  it('in rotation grace says until when remediation waits', () => {
    const built = finding(violation, { kind: 'postponed', until: new Date('2026-06-02T11:59:00.000Z') });
    expect(built.Description).toContain('after 2026-06-02T11:59:00.000Z');
    expect(built.ProductFields?.[`${FIELD}/graceUntil`]).toBe('2026-06-02T11:59:00.000Z');
  });

  it('for an exempt user is WARNING with the reason', () => {
    const built = finding(exempt);
    expect(built.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('EXEMPT_BY_TAG');
    expect(built.Compliance?.StatusReasons?.[0]?.Description).toContain('keywarden:exempt=true');
    expect(built.Title).toContain('exempt');
    expect(built.ProductFields?.[`${FIELD}/exemption`]).toContain('never changes its keys');
  });

  it('for a compliant user says so and shows inactive keys as Inactive', () => {
    const built = finding(
      evaluated([
        { ...OLD_KEY, status: 'Inactive' },
        { ...NEW_KEY, status: 'Expired' },
      ]),
    );
    expect(built.Title).toBe('IAM user alice has no active access key');
    expect(built.Resources?.slice(1).map((r) => r.Details?.AwsIamAccessKey?.Status)).toEqual([
      'Inactive',
      'Inactive',
    ]);
    expect(built.ProductFields?.[`${FIELD}/key2/status`]).toBe('Expired');
  });

  it('says a sweep found it when no event triggered it', () => {
    const built = finding(violation, { kind: 'none' }, SWEEP_TRIGGER);
    expect(built.Description).toContain('Found by the scheduled sweep.');
    expect(built.ProductFields?.[`${FIELD}/trigger`]).toBe('sweep:schedule');
    expect(Object.keys(built.ProductFields ?? {}).filter((k) => k.includes('/trigger/'))).toEqual([]);
  });

  it('stays valid, within every length limit, with the longest names, long paths and trigger fields', () => {
    const userName = `${'u'.repeat(58)}+=,.@-`;
    // IAM allows 512-character paths, but a user ARN over 512 characters breaks the resource Id limit.
    const path = `/${'p'.repeat(400)}/`;
    const trigger = {
      ...EVENT_TRIGGER,
      actorArn: `arn:aws:iam::123456789012:user/${'a'.repeat(480)}`,
      userAgent: 'x'.repeat(512),
      sourceIp: 'y'.repeat(128),
    };
    for (const action of [{ kind: 'none' } as const, deactivated]) {
      const built = finding(evaluated([OLD_KEY, NEW_KEY], { userName, path }), action, trigger);
      expect(built.Title?.length).toBeLessThanOrEqual(256);
      expect(built.Description?.length).toBeLessThanOrEqual(1024);
      expect(built.Resources?.[0]?.Id).toBe(`arn:aws:iam::123456789012:user${path}${userName}`);
    }
  });

  it('keeps the re-activate command whole in the description for a long name on a realistic path', () => {
    const userName = `${'u'.repeat(58)}+=,.@-`;
    const built = finding(evaluated([OLD_KEY, NEW_KEY], { userName, path: '/division/team/' }), deactivated);
    expect(built.Description).toContain(updateCommand(userName, 'AKIAOLD0000000000001', 'Active'));
  });
});

describe('buildArchivedFinding', () => {
  const previous = finding(violation);
  // Security Hub adds its own fields to a stored finding; the archive must not send them back.
  const stored: Finding = {
    ...previous,
    ProductFields: {
      ...previous.ProductFields,
      'aws/securityhub/FindingId':
        'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default/x',
      'aws/securityhub/ProductName': 'Default',
    },
    Workflow: { Status: 'NEW' },
    WorkflowState: 'NEW',
  };
  const trigger = { ...EVENT_TRIGGER, eventName: 'DeleteAccessKey' as const, eventId: 'ev-delete' };
  const archived = buildArchivedFinding(stored, 'alice', trigger, new Date('2026-06-01T13:00:00.000Z'));

  it('archives the same finding as PASSED', () => {
    expectValidAsff(archived);
    expect(archived.Id).toBe(previous.Id);
    expect(archived.ProductArn).toBe(previous.ProductArn);
    expect(archived.RecordState).toBe('ARCHIVED');
    expect(archived.Compliance?.Status).toBe('PASSED');
    expect(archived.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('USER_DELETED');
    expect(archived.Title).toBe('IAM user alice was deleted (CIS 1.13 finding archived)');
  });

  it('keeps CreatedAt, moves UpdatedAt and replaces the trigger', () => {
    expect(archived.CreatedAt).toBe(previous.CreatedAt);
    expect(archived.UpdatedAt).toBe('2026-06-01T13:00:00.000Z');
    expect(archived.ProductFields?.[`${FIELD}/trigger/eventId`]).toBe('ev-delete');
    expect(archived.ProductFields?.[`${FIELD}/verdict`]).toBe('user-gone');
    expect(archived.ProductFields?.[`${FIELD}/keyToKeep`]).toBe('AKIANEW0000000000002');
  });

  it('does not send back fields that belong to Security Hub or to the customer', () => {
    expect(Object.keys(archived.ProductFields ?? {}).filter((k) => k.startsWith('aws/'))).toEqual([]);
    expect(archived.Workflow).toBeUndefined();
    expect(archived.WorkflowState).toBeUndefined();
  });
});

describe('buildRenamedFinding', () => {
  const previous = finding(violation);
  const stored: Finding = { ...previous, Workflow: { Status: 'NEW' } };
  const continuedAs = findingIdFor(ACCOUNT.accountId, 'alicia');
  const rename = {
    from: 'alice',
    to: 'alicia',
    toArn: 'arn:aws:iam::123456789012:user/alicia',
    continuedAs,
  };
  const renameEvent = {
    ...EVENT_TRIGGER,
    eventName: 'UpdateUser' as const,
    eventId: 'ev-rename',
    accessKeyId: undefined,
    renamedFrom: 'alice',
  };

  // A rename KeyWarden saw (it names the renamer from userIdentity) beside one it found by following the keys.
  it.each([
    {
      case: 'the rename event',
      by: `${EVENT_TRIGGER.actorArn} (IAMUser) at ${EVENT_TRIGGER.eventTime}`,
      trigger: renameEvent as Trigger,
      named: EVENT_TRIGGER.actorArn,
    },
    {
      case: 'a sweep that followed the keys',
      by: undefined,
      trigger: SWEEP_TRIGGER,
      named: 'a principal KeyWarden did not see',
    },
  ])('archives the old Id as PASSED, saying where it went, after $case', ({ by, trigger, named }) => {
    const archived = buildRenamedFinding(
      stored,
      { ...rename, by },
      trigger,
      new Date('2026-06-01T13:00:00.000Z'),
    );

    expectValidAsff(archived);
    expect(archived).toMatchObject({
      Id: previous.Id,
      CreatedAt: previous.CreatedAt,
      UpdatedAt: '2026-06-01T13:00:00.000Z',
      RecordState: 'ARCHIVED',
      Compliance: { Status: 'PASSED', StatusReasons: [{ ReasonCode: 'USER_RENAMED' }] },
      Severity: { Label: 'INFORMATIONAL' },
      ProductFields: {
        [`${FIELD}/verdict`]: 'user-renamed',
        [`${FIELD}/renamedTo`]: 'alicia',
        [`${FIELD}/continuedAs`]: continuedAs,
        [`${FIELD}/renamedBy`]: expect.stringContaining(named),
        // KeyWarden's record stays on the archived finding too.
        [`${FIELD}/keyToKeep`]: 'AKIANEW0000000000002',
      },
    });
    expect(archived.Title).toContain(`continues as ${continuedAs}`);
    expect(archived.Description).toContain(named);
    expect(archived.Workflow).toBeUndefined();
  });

  it('records the former name on the finding under the new name (its trigger)', () => {
    const built = finding(evaluated([OLD_KEY], { userName: 'alicia' }), { kind: 'none' }, renameEvent);

    expect(built.Id).toBe(continuedAs);
    expect(built.ProductFields?.[`${FIELD}/trigger/renamedFrom`]).toBe('alice');
    expect(built.Description).toContain('UpdateUser (rename of IAM user alice) by');
  });
});

describe('buildFinding with key origins', () => {
  const LONG_ROLE = `arn:aws:sts::123456789012:assumed-role/${'r'.repeat(64)}/${'s'.repeat(64)}`;
  const origin = (accessKeyId: string, minter: KeyOrigin['minter'], actorArn: string): KeyOrigin => ({
    accessKeyId,
    how: 'created',
    minter,
    actorArn,
    actorType: minter === 'self' ? 'IAMUser' : 'AssumedRole',
    eventTime: '2026-06-01T11:59:58Z',
  });

  // Each origin beside the key KeyWarden saw no event for, which says nothing about it.
  it.each([
    { minter: 'another-principal' as const, phrase: `created by ${LONG_ROLE}, another principal` },
    { minter: 'trusted' as const, phrase: `created by ${LONG_ROLE}, a trusted key issuer` },
    { minter: 'self' as const, phrase: 'created by the user itself' },
  ])('names who created each key it knows of: $minter', ({ minter, phrase }) => {
    const origins = new Map([[NEW_KEY.accessKeyId, origin(NEW_KEY.accessKeyId, minter, LONG_ROLE)]]);

    const built = buildFinding({
      account: ACCOUNT,
      evaluation: evaluated([OLD_KEY, NEW_KEY], {}, POLICY),
      action: { kind: 'none' },
      trigger: EVENT_TRIGGER,
      updatedAt: UPDATED_AT,
      origins,
    });

    expectValidAsff(built);
    expect(built.Description).toContain(`${NEW_KEY.accessKeyId} (created 2026-06-01, never used; ${phrase})`);
    expect(built.ProductFields?.[`${FIELD}/key2/madeUsableByKind`]).toBe(minter);
    expect(built.ProductFields?.[`${FIELD}/key1/madeUsableBy`]).toBeUndefined();
    expect(built.Description).not.toMatch(new RegExp(`${OLD_KEY.accessKeyId} \\([^)]*created by`));
  });
});
