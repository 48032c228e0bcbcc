/** `keywarden scan` run as a process against a moto server of its own, through the counting proxy. */

import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import {
  ACCOUNT_ID,
  type IsolatedAws,
  type ProcessResult,
  run,
  startIsolatedAws,
} from '../sweep/moto-fixture.ts';

const BIN = 'functions/cli/bin.mjs';

describe('keywarden scan (process)', () => {
  let aws: IsolatedAws;
  const keywarden = (args: string[], env: Record<string, string | undefined> = {}): Promise<ProcessResult> =>
    run('node', [BIN, ...args], { AWS_ENDPOINT_URL: aws.proxy.endpoint, ...env });
  const activeKeys = async (userName: string): Promise<string[]> => {
    const { AccessKeyMetadata = [] } = await aws.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return AccessKeyMetadata.filter((key) => key.Status === 'Active').map((key) => key.AccessKeyId as string);
  };

  beforeAll(async () => {
    aws = await startIsolatedAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });
  beforeEach(async () => {
    await aws.reset();
  });

  it('exits 0 and says so when no user has more than one active key', async () => {
    // Prepare
    await aws.seed([
      { userName: 'cli-one', activeKeys: 1 },
      { userName: 'cli-none' },
      { userName: 'cli-retired', activeKeys: 1, inactiveKeys: 1 },
    ]);

    // Act
    const result = await keywarden(['scan', '--format', 'table']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No IAM user has more than one active access key.');
    expect(result.stdout).toContain('Summary: 3 users scanned, 3 compliant, 0 violating, 0 exempt.');
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
  });

  it('exits 2 and writes JSON (the default off a terminal) naming each violator, its ARN and its active keys', async () => {
    // Prepare
    const keys = await aws.seed([
      { userName: 'cli-two', path: '/eng/', activeKeys: 2 },
      { userName: 'cli-exempt', activeKeys: 2, tags: { 'keywarden:exempt': 'true' } },
      { userName: 'cli-one', activeKeys: 1 },
    ]);

    // Act
    const result = await keywarden(['scan']);

    // Assess
    expect(result.code).toBe(2);
    const output = JSON.parse(result.stdout);
    expect(output.violations).toEqual([
      expect.objectContaining({
        userName: 'cli-two',
        userArn: `arn:aws:iam::${ACCOUNT_ID}:user/eng/cli-two`,
        activeAccessKeyIds: expect.arrayContaining(keys.get('cli-two') ?? []),
        action: 'none',
      }),
    ]);
    expect(output.exempt.map((e: { userName: string }) => e.userName)).toEqual(['cli-exempt']);
    expect(output.summary).toMatchObject({ usersScanned: 3, compliant: 1, violating: 1, exempt: 1 });
    expect(output.account).toEqual({ accountId: ACCOUNT_ID, partition: 'aws', region: 'us-east-1' });
    // Progress goes to stderr, never into the JSON.
    expect(result.stderr).toContain('Generating the IAM credential report');
  });

  it('prints a table with the violators and the closing summary', async () => {
    // Prepare
    const seeded = await aws.seed([{ userName: 'cli-table', activeKeys: 2 }, { userName: 'cli-ok' }]);
    const [older, newer] = seeded.get('cli-table') ?? [];

    // Act
    const result = await keywarden(['scan', '--format', 'table', '--full']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/every user listed live/);
    expect(result.stdout).toMatch(
      new RegExp(
        `^cli-table +arn:aws:iam::123456789012:user/cli-table +${older} \\(\\d{4}-\\d\\d-\\d\\d, never used\\), ${newer} \\(\\d{4}-\\d\\d-\\d\\d, never used\\) +${newer} +reported only$`,
        'm',
      ),
    );
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      'Summary: 2 users scanned, 1 compliant, 1 violating, 0 exempt.',
    );
  });

  it('only shows what it would do with --remediate, and deactivates with --remediate --yes', async () => {
    // Prepare
    await aws.seed([{ userName: 'cli-fix', activeKeys: 2 }]);

    // Act
    const dryRun = await keywarden(['scan', '--remediate']);
    const afterDryRun = await activeKeys('cli-fix');
    const applied = await keywarden(['scan', '--remediate', '--yes']);

    // Assess
    const planned = JSON.parse(dryRun.stdout).violations[0];
    expect(planned.action).toBe('dry-run');
    expect(afterDryRun).toHaveLength(2);
    const done = JSON.parse(applied.stdout).violations[0];
    expect(done.action).toBe('deactivated');
    expect(applied.code).toBe(2);
    expect(await activeKeys('cli-fix')).toEqual([planned.keyToKeep]);
  });

  it('writes findings to Security Hub only with --import-findings', async () => {
    // Prepare
    await aws.seed([{ userName: 'cli-import', activeKeys: 2 }]);
    const id = findingIdFor(ACCOUNT_ID, 'cli-import');

    // Act
    await keywarden(['scan']);
    const without = await aws.findings();
    await keywarden(['scan', '--import-findings']);
    const withImports = await aws.findings();

    // Assess
    expect(without.has(id)).toBe(false);
    expect(withImports.get(id)?.Compliance?.Status).toBe('FAILED');
  });

  it('exits 1 naming the permission when IAM denies access', async () => {
    // Prepare
    aws.proxy.inject({ operation: 'iam.GenerateCredentialReport', status: 403, code: 'AccessDenied' });

    // Act
    const result = await keywarden(['scan']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      'Access denied: the credentials in use may not call iam:GenerateCredentialReport',
    );
  });

  it('exits 1 with the partial result when a user cannot be read', async () => {
    // Prepare
    await aws.seed([{ userName: 'cli-denied', activeKeys: 2 }]);
    aws.proxy.inject({ operation: 'iam.GetUser', status: 403, code: 'AccessDenied' });

    // Act
    const result = await keywarden(['scan']);

    // Assess
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).errors).toEqual([
      { stage: 'check', userName: 'cli-denied', message: expect.stringContaining('iam:GetUser') },
    ]);
    expect(result.stderr).toContain('may not call iam:GetUser');
  });

  it('exits 1 explaining that Security Hub is not enabled', async () => {
    // Prepare
    aws.proxy.inject({
      operation: 'securityhub.GetFindings',
      status: 401,
      code: 'InvalidAccessException',
    });

    // Act
    const result = await keywarden(['scan', '--import-findings']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Security Hub CSPM is not enabled for account ${ACCOUNT_ID} in us-east-1: enable it (aws securityhub enable-security-hub --region us-east-1)`,
    );
  });

  it('exits 1 explaining how to provide credentials when there are none', async () => {
    // Act
    const result = await keywarden(['scan'], {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No AWS credentials found: pass --profile NAME');
  });

  it.each([
    { case: 'with --region', region: ['--region', 'us-east-1'] },
    { case: 'without a region', region: [] },
  ])('exits 1 saying that a --profile which does not exist does not, $case', async ({ region }) => {
    // Act
    const result = await keywarden(['scan', '--profile', 'nosuch', ...region], {
      AWS_REGION: undefined,
      AWS_CONFIG_FILE: '/nonexistent/keywarden/config',
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'keywarden: AWS profile "nosuch" (--profile) does not exist: looked in /nonexistent/keywarden/config (not found) and /dev/null. Create it with `aws configure --profile nosuch` or pick another.\n',
    );
    expect(aws.proxy.count()).toBe(0);
  });

  it('exits 64 with a usage message for a bad option', async () => {
    // Act
    const result = await keywarden(['scan', '--format', 'yaml']);

    // Assess
    expect(result.code).toBe(64);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('--format "yaml" is not allowed');
  });
});
