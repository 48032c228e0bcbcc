import { describe, expect, it } from 'vitest';
import {
  type AccountOutcome,
  accountsLine,
  buildAccountsReport,
  exitCodeForAccounts,
  renderAccountsJson,
  renderAccountsTable,
} from '../../functions/cli/accounts-report.ts';
import type { MemberScan } from '../../functions/cli/members.ts';
import { buildScanReport } from '../../functions/cli/report.ts';
import type { AccountTarget } from '../../functions/core/organization.ts';
import { runSweep } from '../../functions/sweep/engine.ts';
import { ACCOUNT, FakeAccount, SETTINGS } from '../sweep/fakes.ts';

const CALLER = ACCOUNT;
const MEMBER_A = '111122223333';
const MEMBER_B = '444455556666';
const ROLE = 'KeyWardenMember';
const SCAN_SETTINGS = {
  remediation: 'off' as const,
  keepKey: 'newest',
  exemptTag: 'keywarden:exempt',
  rotationGraceHours: 0,
  importFindings: false,
};
const DENIED = `Could not assume the member role arn:aws:iam::${MEMBER_B}:role/${ROLE} (AccessDenied: denied)`;

const target = (accountId: string): AccountTarget =>
  accountId === CALLER.accountId
    ? { account: CALLER, via: 'own' }
    : { account: { ...CALLER, accountId }, via: 'member-role' };

/** A scanned account whose users are `setup`'s. */
async function scanned(
  accountId: string,
  setup: (account: FakeAccount) => void,
  name?: string,
): Promise<AccountOutcome> {
  const fake = new FakeAccount();
  setup(fake);
  const { account } = target(accountId);
  const result = await runSweep(
    fake.deps(),
    { settings: { ...SETTINGS, importFindings: false }, source: 'credential-report', origin: 'cli' },
    account,
  );
  const report = buildScanReport(result, {
    account,
    scannedAt: new Date('2026-06-01T12:00:00Z'),
    version: '9.9.9',
    settings: SCAN_SETTINGS,
    describeError: (error) => `described: ${(error as Error).message}`,
  });
  return { kind: 'scanned', target: target(accountId), name, report };
}

const failed = (accountId: string, message = DENIED): AccountOutcome => ({
  kind: 'failed',
  target: target(accountId),
  name: undefined,
  message,
});

function report(
  outcomes: AccountOutcome[],
  members: MemberScan = { from: 'accounts', accountIds: [], roleName: ROLE },
) {
  return buildAccountsReport(outcomes, {
    caller: CALLER,
    members,
    scannedAt: new Date('2026-06-01T12:05:00Z'),
    version: '9.9.9',
    settings: SCAN_SETTINGS,
  });
}

/** Member A: a violator and a compliant user; the caller's account: an exempt user; member B: not scanned. */
async function threeAccounts(): Promise<AccountOutcome[]> {
  return [
    await scanned(MEMBER_A, (account) => {
      account.addUser('amy', { activeKeys: 2 });
      account.addUser('ok', { activeKeys: 1 });
    }),
    failed(MEMBER_B),
    await scanned(CALLER.accountId, (account) => {
      account.addUser('svc', { activeKeys: 2, tags: { 'keywarden:exempt': 'true' } });
    }),
  ];
}

describe('buildAccountsReport', () => {
  it('gives each account its entry, in the order given, and a failed one its error and no summary', async () => {
    // Act
    const built = report(await threeAccounts());

    // Assess
    expect(built.accounts.map((entry) => [entry.accountId, entry.via, entry.status])).toEqual([
      [MEMBER_A, 'member-role', 'scanned'],
      [MEMBER_B, 'member-role', 'failed'],
      [CALLER.accountId, 'own', 'scanned'],
    ]);
    const [a, b, own] = built.accounts;
    expect(a?.violations.map((v) => [v.userName, v.findingId])).toEqual([
      ['amy', `keywarden/cis-1.13/${MEMBER_A}/amy`],
    ]);
    expect(a?.summary).toMatchObject({ usersScanned: 2, compliant: 1, violating: 1 });
    expect(b).toMatchObject({
      violations: [],
      exempt: [],
      errors: [{ stage: 'account', userName: null, message: DENIED }],
      summary: null,
    });
    expect(own?.exempt.map((e) => e.userName)).toEqual(['svc']);
  });

  it('adds up the users of the scanned accounts and counts the accounts', async () => {
    // Act
    const built = report(await threeAccounts());

    // Assess
    expect(built.summary).toEqual({
      accounts: 3,
      accountsScanned: 2,
      accountsFailed: 1,
      accountsWithViolations: 1,
      usersScanned: 3,
      compliant: 1,
      violating: 1,
      exempt: 1,
      failed: 0,
      candidates: 2,
      deactivated: 0,
      postponed: 0,
      resolved: 0,
      archived: 0,
      findingsImported: 0,
    });
  });

  it('names the accounts’ source and the role', async () => {
    // Act
    const built = report([await scanned(MEMBER_A, () => {}, 'Production')], {
      from: 'organization',
      roleName: ROLE,
    });

    // Assess
    expect(built).toMatchObject({ caller: CALLER, roleName: ROLE, accountsFrom: 'organization' });
    expect(built.accounts[0]?.name).toBe('Production');
  });
});

describe('exitCodeForAccounts', () => {
  it.each<{ case: string; violators: string[]; broken: string[]; failing: string[]; code: number }>([
    { case: 'every account compliant', violators: [], broken: [], failing: [], code: 0 },
    { case: 'a violation in one account', violators: [MEMBER_A], broken: [], failing: [], code: 2 },
    { case: 'an account not scanned', violators: [], broken: [], failing: [MEMBER_B], code: 1 },
    {
      case: 'an account not scanned beside violations',
      violators: [MEMBER_A],
      broken: [],
      failing: [MEMBER_B],
      code: 1,
    },
    {
      case: 'a user not checked in one account',
      violators: [MEMBER_A],
      broken: [MEMBER_A],
      failing: [],
      code: 1,
    },
  ])('returns $code for $case', async ({ violators, broken, failing, code }) => {
    // Prepare
    const outcomes: AccountOutcome[] = [];
    for (const accountId of [MEMBER_A, MEMBER_B]) {
      if (failing.includes(accountId)) {
        outcomes.push(failed(accountId));
        continue;
      }
      outcomes.push(
        await scanned(accountId, (account) => {
          account.addUser('u', { activeKeys: violators.includes(accountId) ? 2 : 1 });
          // A candidate (two active keys) whose read fails.
          if (broken.includes(accountId)) {
            account.addUser('unreadable', { activeKeys: 2 });
            account.broken.add('unreadable');
          }
        }),
      );
    }

    // Act
    const exit = exitCodeForAccounts(report(outcomes));

    // Assess
    expect(exit).toBe(code);
  });
});

describe('renderAccountsJson', () => {
  it('writes one document: the run, an entry per account, and the total', async () => {
    // Act
    const parsed = JSON.parse(renderAccountsJson(report(await threeAccounts())));

    // Assess
    expect(Object.keys(parsed)).toEqual([
      'tool',
      'control',
      'caller',
      'roleName',
      'accountsFrom',
      'scannedAt',
      'settings',
      'accounts',
      'summary',
    ]);
    for (const entry of parsed.accounts) {
      expect(Object.keys(entry)).toEqual([
        'accountId',
        'name',
        'via',
        'status',
        'scannedAt',
        'source',
        'reportGeneratedAt',
        'violations',
        'exempt',
        'resolvedFindings',
        'errors',
        'summary',
      ]);
    }
    expect(parsed.accounts[1]).toMatchObject({ accountId: MEMBER_B, status: 'failed', summary: null });
    expect(parsed.summary).toMatchObject({ accounts: 3, accountsFailed: 1, violating: 1 });
  });
});

describe('renderAccountsTable', () => {
  it('gives each account a section, in order, and closes with the total', async () => {
    // Act
    const text = renderAccountsTable(report(await threeAccounts()));

    // Assess
    const lines = text.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'KeyWarden 9.9.9 · CIS AWS Foundations Benchmark v3.0.0 1.13: at most one active access key per IAM user',
      `3 accounts listed with --accounts · member role ${ROLE} · caller ${CALLER.accountId} (aws, us-east-1) · 2026-06-01T12:05:00.000Z`,
    ]);
    expect(lines.filter((line) => line.startsWith('=== '))).toEqual([
      `=== Account ${MEMBER_A} · through role ${ROLE} · candidates from the IAM credential report of 2026-06-01T00:00:00.000Z, each confirmed live`,
      `=== Account ${MEMBER_B} · through role ${ROLE} · could not be scanned`,
      `=== Account ${CALLER.accountId} · the caller's credentials · candidates from the IAM credential report of 2026-06-01T00:00:00.000Z, each confirmed live`,
      '=== Total',
    ]);
    const section = (accountId: string): string =>
      text.slice(text.indexOf(`=== Account ${accountId}`)).split('\n=== ')[0] ?? '';
    expect(section(MEMBER_A)).toContain('1 user with more than one active access key:');
    expect(section(MEMBER_A)).toMatch(/^amy +arn:aws:iam::\d{12}:user\/amy +AKIA/m);
    expect(section(MEMBER_A)).toContain('Summary: 2 users scanned, 1 compliant, 1 violating, 0 exempt.');
    expect(section(MEMBER_B).split('\n')).toContain(DENIED);
    expect(section(CALLER.accountId)).toContain('1 exempt user (tagged keywarden:exempt=true');
    expect(text.trimEnd().split('\n').slice(-4)).toEqual([
      `3 accounts: 2 scanned, 1 could not be scanned (${MEMBER_B}), 1 with violations (${MEMBER_A}).`,
      'Summary: 3 users scanned, 1 compliant, 1 violating, 1 exempt.',
      '',
      'Run with --remediate to see which keys KeyWarden would deactivate, and with --remediate --yes to do it.',
    ]);
  });

  it('says so when no account has a violation', async () => {
    // Prepare
    const built = report([await scanned(MEMBER_A, (account) => account.addUser('ok', { activeKeys: 1 }))]);

    // Act
    const text = renderAccountsTable(built);

    // Assess
    expect(accountsLine(built)).toBe('1 account: 1 scanned, none with violations.');
    expect(text).toContain('No IAM user has more than one active access key.');
    expect(text).not.toContain('--remediate');
  });
});
