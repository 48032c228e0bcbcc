/** `keywarden restore` run as a process against a moto server of its own, through the counting proxy. */

import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { BatchImportFindingsCommand } from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { updateAccessKeyRecord } from '../support/trail-records.ts';
import {
  ACCOUNT_ID,
  type IsolatedAws,
  type ProcessResult,
  run,
  startIsolatedAws,
} from '../sweep/moto-fixture.ts';

const BIN = 'functions/cli/bin.mjs';
const CALLER = `arn:aws:sts::${ACCOUNT_ID}:user/moto`;
const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
// KeyWarden's functions in this account, as the operator names them to the CLI.
const DETECTOR_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/KeyWarden-DetectorRole`;
const SWEEP_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/KeyWarden-SweepRole`;
const SWEEP = { roleArn: SWEEP_ROLE, sessionName: 'keywarden-sweep' } as const;
// Someone else who may switch keys off: an incident responder.
const RESPONDER_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/IncidentResponder`;
const RESPONDER = { roleArn: RESPONDER_ROLE, sessionName: 'jane' } as const;
const OPERATOR = { userArn: `arn:aws:iam::${ACCOUNT_ID}:user/operator` } as const;

describe('keywarden restore (process)', () => {
  let aws: IsolatedAws;
  const keywarden = (args: string[], env: Record<string, string | undefined> = {}): Promise<ProcessResult> =>
    run('node', [BIN, ...args], {
      AWS_ENDPOINT_URL: aws.proxy.endpoint,
      KEYWARDEN_ROLE_ARNS: `${DETECTOR_ROLE},${SWEEP_ROLE}`,
      ...env,
    });
  const keys = async (userName: string): Promise<Record<string, string>> => {
    const { AccessKeyMetadata = [] } = await aws.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return Object.fromEntries(
      AccessKeyMetadata.map((key) => [key.AccessKeyId as string, key.Status as string]),
    );
  };
  const tags = async (userName: string): Promise<Record<string, string>> => {
    const { User } = await aws.iam.send(new GetUserCommand({ UserName: userName }));
    return Object.fromEntries((User?.Tags ?? []).map((tag) => [tag.Key as string, tag.Value as string]));
  };
  const writes = (): Record<string, number> => {
    const counts = aws.proxy.countsByOperation();
    return Object.fromEntries(
      ['iam.UpdateAccessKey', 'iam.TagUser', 'securityhub.BatchImportFindings']
        .filter((operation) => counts[operation])
        .map((operation) => [operation, counts[operation] as number]),
    );
  };

  /** A user whose surplus key KeyWarden deactivated and recorded (the CLI's remediation, findings imported). */
  async function deactivatedByKeyWarden(
    userName: string,
    tags?: Record<string, string>,
  ): Promise<{ deactivated: string; kept: string }> {
    await aws.seed([{ userName, activeKeys: 2, ...(tags ? { tags } : {}) }]);
    // CloudTrail logs the deactivation as the sweep role's; the restore's own calls as the operator's.
    aws.proxy.recordKeyUpdates(() => SWEEP);
    const scan = await keywarden(['scan', '--import-findings', '--remediate', '--yes']);
    aws.proxy.recordKeyUpdates(() => OPERATOR);
    expect(scan.code, scan.stderr).toBe(2);
    const state = await keys(userName);
    const deactivated = Object.keys(state).find((id) => state[id] === 'Inactive') as string;
    const kept = Object.keys(state).find((id) => state[id] === 'Active') as string;
    expect(deactivated).toBeDefined();
    const finding = (await aws.findings()).get(findingIdFor(ACCOUNT_ID, userName));
    expect(finding?.ProductFields?.['keywarden/detector/deactivatedKeys']).toBe(deactivated);
    aws.proxy.reset();
    return { deactivated, kept };
  }

  beforeAll(async () => {
    aws = await startIsolatedAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });
  beforeEach(async () => {
    await aws.reset();
  });

  it('without --yes shows what it would do and changes nothing', async () => {
    // Prepare
    const { deactivated } = await deactivatedByKeyWarden('dry-alice');

    // Act
    const result = await keywarden(['restore', 'dry-alice']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Caller: ${CALLER}`);
    expect(result.stdout).toContain('Would:');
    expect(result.stdout).toContain(
      `re-activate access key ${deactivated}, now Inactive (deactivated by KeyWarden at`,
    );
    expect(result.stdout).toMatch(
      /tag IAM user dry-alice keywarden:exempt=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/,
    );
    expect(result.stdout).toContain('Nothing changed. Run again with --yes to do it.');
    expect(writes()).toEqual({});
    expect((await keys('dry-alice'))[deactivated]).toBe('Inactive');
    expect(await tags('dry-alice')).toEqual({});
  });

  it('with --yes re-activates the recorded key, exempts the user until now + N days, and updates the finding', async () => {
    // Prepare
    const { deactivated, kept } = await deactivatedByKeyWarden('yes-alice');
    const before = Date.now();

    // Act
    const result = await keywarden(['restore', 'yes-alice', '--exempt-days', '3', '--yes']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(await keys('yes-alice')).toEqual({ [deactivated]: 'Active', [kept]: 'Active' });
    const until = (await tags('yes-alice'))['keywarden:exempt'] as string;
    expect(until).toMatch(ISO_SECOND);
    const days = (Date.parse(until) - before) / 86_400_000;
    expect(days).toBeGreaterThan(2.99);
    expect(days).toBeLessThan(3.01);
    expect(result.stdout).toContain(`Confirmed by IAM: ${deactivated} Active, keywarden:exempt=${until}`);
    // Each write is followed by a read that proves it, and the finding is written once.
    expect(writes()).toEqual({
      'iam.TagUser': 1,
      'iam.UpdateAccessKey': 1,
      'securityhub.BatchImportFindings': 1,
    });
    const finding = (await aws.findings()).get(findingIdFor(ACCOUNT_ID, 'yes-alice'));
    expectValidAsff(finding);
    expect(finding?.Compliance?.Status).toBe('WARNING');
    expect(finding?.Description).toContain(CALLER);
    expect(finding?.Description).toContain(deactivated);
    expect(finding?.Title).toContain(until.slice(0, 10));
  });

  it('leaves the restored key alone when KeyWarden enforces again during the exemption', async () => {
    // Prepare
    const { deactivated } = await deactivatedByKeyWarden('kept-alice');
    const restored = await keywarden(['restore', 'kept-alice', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);

    // Act
    const scan = await keywarden(['scan', '--import-findings', '--remediate', '--yes']);

    // Assess
    expect(scan.code, scan.stderr).toBe(0);
    expect(JSON.parse(scan.stdout).exempt.map((e: { userName: string }) => e.userName)).toEqual([
      'kept-alice',
    ]);
    expect((await keys('kept-alice'))[deactivated]).toBe('Active');
  });

  it('confirms an exemption tag IAM holds in other letters, since IAM tag keys are case-insensitive', async () => {
    // Prepare: a tag in other letters that exempts nobody; IAM then replaces its value and keeps its letters.
    const { deactivated } = await deactivatedByKeyWarden('case-kim', { 'KeyWarden:Exempt': 'false' });
    aws.proxy.caseInsensitiveTagKeys();

    // Act
    const result = await keywarden(['restore', 'case-kim', '--yes']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const until = (await tags('case-kim'))['KeyWarden:Exempt'] as string;
    expect(until).toMatch(ISO_SECOND);
    expect(result.stdout).toContain(`Confirmed by IAM: ${deactivated} Active, keywarden:exempt=${until}`);
    expect(writes()).toEqual({
      'iam.TagUser': 1,
      'iam.UpdateAccessKey': 1,
      'securityhub.BatchImportFindings': 1,
    });
  });

  it('re-activates the key named with --key when no deactivation is recorded', async () => {
    // Prepare
    const seeded = await aws.seed([{ userName: 'flag-bob', activeKeys: 1, inactiveKeys: 1 }]);
    const inactive = seeded.get('flag-bob')?.[1] as string;
    aws.proxy.trail.push(
      updateAccessKeyRecord({
        caller: { roleArn: DETECTOR_ROLE, sessionName: 'keywarden-detector' },
        userName: 'flag-bob',
        accessKeyId: inactive,
        status: 'Inactive',
        eventTime: new Date(Date.now() - 3_600_000),
      }),
    );

    // Act
    const result = await keywarden(['restore', 'flag-bob', '--key', inactive, '--yes']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect((await keys('flag-bob'))[inactive]).toBe('Active');
    expect((await tags('flag-bob'))['keywarden:exempt']).toMatch(ISO_SECOND);
  });

  it.each([
    {
      case: 'a user that does not exist',
      args: ['restore', 'nobody-here'],
      says: /IAM user nobody-here does not exist/,
    },
    {
      case: 'no recorded deactivation and no --key',
      args: ['restore', 'plain-carol'],
      says: /no deactivation by KeyWarden is recorded for IAM user plain-carol.*name the key with --key/,
    },
    {
      case: '--key naming a key of another user',
      args: ['restore', 'plain-carol', '--key', 'AKIAOTHERUSER0000000'],
      says: /AKIAOTHERUSER0000000 is not an access key of IAM user plain-carol/,
    },
    { case: 'more than 90 days', args: ['restore', 'plain-carol', '--exempt-days', '91'], says: /1 to 90/ },
  ])('exits 64 and changes nothing for $case', async ({ args, says }) => {
    // Prepare
    await aws.seed([{ userName: 'plain-carol', activeKeys: 1, inactiveKeys: 1 }]);
    aws.proxy.reset();

    // Act
    const result = await keywarden([...args, '--yes']);

    // Assess
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(says);
    expect(writes()).toEqual({});
  });

  it('exits 1 naming the permission when IAM refuses the tag, and re-activates nothing', async () => {
    // Prepare
    const { deactivated } = await deactivatedByKeyWarden('denied-dave');
    aws.proxy.inject({ operation: 'iam.TagUser', status: 403, code: 'AccessDenied' });

    // Act
    const result = await keywarden(['restore', 'denied-dave', '--yes']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('iam:TagUser');
    expect((await keys('denied-dave'))[deactivated]).toBe('Inactive');
    expect(writes()).toEqual({ 'iam.TagUser': 1 });
  });

  it('exits 1 and says the user is exempt already when IAM refuses the re-activation', async () => {
    // Prepare
    const { deactivated } = await deactivatedByKeyWarden('half-erin');
    aws.proxy.inject({ operation: 'iam.UpdateAccessKey', status: 403, code: 'AccessDenied' });

    // Act
    const result = await keywarden(['restore', 'half-erin', '--yes']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('iam:UpdateAccessKey');
    const until = (await tags('half-erin'))['keywarden:exempt'];
    expect(result.stderr).toContain(`half-erin is tagged keywarden:exempt=${until} already`);
    expect((await keys('half-erin'))[deactivated]).toBe('Inactive');
    expect(writes()).toEqual({ 'iam.TagUser': 1, 'iam.UpdateAccessKey': 1 });
  });

  it('acts in a member account through its role with --account and --role-name', async () => {
    // Prepare: a user of the member account, seen through the member role (moto acts in the role's account).
    const member = '111122223333';
    const { Credentials } = await new STSClient({
      endpoint: aws.moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${member}:role/KeyWardenMember`,
        RoleSessionName: 'seed',
      }),
    );
    const memberIam = new IAMClient({
      endpoint: aws.moto.endpoint,
      region: 'us-east-1',
      credentials: {
        accessKeyId: Credentials?.AccessKeyId as string,
        secretAccessKey: Credentials?.SecretAccessKey as string,
        sessionToken: Credentials?.SessionToken as string,
      },
    });
    await memberIam.send(new CreateUserCommand({ UserName: 'member-frank' }));
    const { AccessKey } = await memberIam.send(new CreateAccessKeyCommand({ UserName: 'member-frank' }));
    const keyId = AccessKey?.AccessKeyId as string;
    await memberIam.send(
      new UpdateAccessKeyCommand({ UserName: 'member-frank', AccessKeyId: keyId, Status: 'Inactive' }),
    );
    // The central detector switched it off through the member role, as the member's CloudTrail shows.
    aws.proxy.trail.push(
      updateAccessKeyRecord({
        caller: { roleArn: `arn:aws:iam::${member}:role/KeyWardenMember`, sessionName: 'keywarden-detector' },
        userName: 'member-frank',
        accessKeyId: keyId,
        status: 'Inactive',
        eventTime: new Date(Date.now() - 3_600_000),
      }),
    );

    // Act
    const result = await keywarden(
      [
        'restore',
        'member-frank',
        '--key',
        keyId,
        '--account',
        member,
        '--role-name',
        'KeyWardenMember',
        '--yes',
      ],
      { KEYWARDEN_ROLE_ARNS: '' },
    );

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`account ${member} (aws, us-east-1) through role KeyWardenMember`);
    const { AccessKeyMetadata = [] } = await memberIam.send(
      new ListAccessKeysCommand({ UserName: 'member-frank' }),
    );
    expect(AccessKeyMetadata.map((key) => key.Status)).toEqual(['Active']);
    const { User } = await memberIam.send(new GetUserCommand({ UserName: 'member-frank' }));
    expect(User?.Tags?.find((tag) => tag.Key === 'keywarden:exempt')?.Value).toMatch(ISO_SECOND);
    expect(aws.proxy.count('AssumeRole')).toBe(1);
  });

  describe('what it proves before re-activating', () => {
    /**
     * A user whose key an incident responder switched off, and a finding re-imported by someone with
     * securityhub:BatchImportFindings that names that key as deactivated by KeyWarden.
     */
    async function forgedRecord(userName: string, responder = true): Promise<string> {
      await aws.seed([{ userName, activeKeys: 2 }]);
      const scan = await keywarden(['scan', '--import-findings']);
      expect(scan.code, scan.stderr).toBe(2);
      const switchedOff = Object.keys(await keys(userName))[0] as string;
      await aws.iam.send(
        new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: switchedOff, Status: 'Inactive' }),
      );
      // As CloudTrail logs the responder's call (without it: a trail that holds no such event).
      if (responder) {
        aws.proxy.trail.push(
          updateAccessKeyRecord({
            caller: RESPONDER,
            userName,
            accessKeyId: switchedOff,
            status: 'Inactive',
            eventTime: new Date(Date.now() - 60_000),
          }),
        );
      }
      aws.proxy.recordKeyUpdates(() => OPERATOR);
      const finding = (await aws.findings()).get(findingIdFor(ACCOUNT_ID, userName));
      const forged = {
        ...finding,
        UpdatedAt: new Date().toISOString(),
        ProductFields: {
          ...finding?.ProductFields,
          'keywarden/detector/deactivatedKeys': switchedOff,
          'keywarden/detector/deactivatedAt': new Date().toISOString(),
        },
      };
      await aws.securityHub.send(new BatchImportFindingsCommand({ Findings: [forged as never] }));
      aws.proxy.reset();
      return switchedOff;
    }

    it('refuses a key the finding names but an incident responder switched off, and writes nothing', async () => {
      // Prepare
      const switchedOff = await forgedRecord('forged-gina');

      // Act
      const result = await keywarden(['restore', 'forged-gina', '--yes']);

      // Assess
      expect(result.code).toBe(64);
      expect(result.stderr).toContain(`cannot prove that KeyWarden switched off ${switchedOff}`);
      expect(result.stderr).toContain(`switched off by ${RESPONDER_ROLE}`);
      expect((await keys('forged-gina'))[switchedOff]).toBe('Inactive');
      expect(await tags('forged-gina')).toEqual({});
      expect(writes()).toEqual({});
      expect(aws.proxy.count('cloudtrail.LookupEvents')).toBeGreaterThan(0);
    });

    it('refuses a key the finding names when CloudTrail shows no deactivation of it', async () => {
      // Prepare
      const switchedOff = await forgedRecord('forged-hank', false);

      // Act
      const result = await keywarden(['restore', 'forged-hank', '--yes']);

      // Assess
      expect(result.code).toBe(64);
      expect(result.stderr).toContain(`cannot prove that KeyWarden switched off ${switchedOff}`);
      expect(result.stderr).toMatch(/CloudTrail shows no UpdateAccessKey of/);
      expect((await keys('forged-hank'))[switchedOff]).toBe('Inactive');
      expect(await tags('forged-hank')).toEqual({});
      expect(writes()).toEqual({});
    });

    it('refuses when KeyWarden roles are not named, saying how to name them', async () => {
      // Prepare
      await deactivatedByKeyWarden('unnamed-ivy');

      // Act
      const result = await keywarden(['restore', 'unnamed-ivy', '--yes'], { KEYWARDEN_ROLE_ARNS: '' });

      // Assess
      expect(result.code).toBe(64);
      expect(result.stderr).toContain('--keywarden-roles');
      expect(writes()).toEqual({});
    });

    it('exits 1 naming cloudtrail:LookupEvents when CloudTrail cannot be read, and changes nothing', async () => {
      // Prepare
      const { deactivated } = await deactivatedByKeyWarden('blind-lena');
      aws.proxy.inject({ operation: 'cloudtrail.LookupEvents', status: 400, code: 'AccessDeniedException' });

      // Act
      const result = await keywarden(['restore', 'blind-lena', '--yes']);

      // Assess
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('cloudtrail:LookupEvents');
      expect((await keys('blind-lena'))[deactivated]).toBe('Inactive');
      expect(writes()).toEqual({});
    });

    it('refuses --key without proof unless --force, and names who switched the key off', async () => {
      // Prepare
      const switchedOff = await forgedRecord('forced-jack');

      // Act
      const refused = await keywarden(['restore', 'forced-jack', '--key', switchedOff, '--yes']);

      // Assess
      expect(refused.code).toBe(64);
      expect(refused.stderr).toContain(`switched off by ${RESPONDER_ROLE}`);
      expect(refused.stderr).toContain('--force');
      expect((await keys('forced-jack'))[switchedOff]).toBe('Inactive');
      expect(writes()).toEqual({});

      // Act
      const forced = await keywarden(['restore', 'forced-jack', '--key', switchedOff, '--force', '--yes']);

      // Assess
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toContain(`switched off by ${RESPONDER_ROLE}`);
      expect((await keys('forced-jack'))[switchedOff]).toBe('Active');
      expect((await tags('forced-jack'))['keywarden:exempt']).toMatch(ISO_SECOND);
    });
  });

  it('shows its help, with the permissions it needs', async () => {
    const result = await keywarden(['restore', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: keywarden restore USER [--key ID] [--exempt-days N] [--yes]');
    expect(result.stdout).toContain('iam:TagUser, iam:UpdateAccessKey');
  });
});
