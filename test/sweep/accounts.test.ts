import { describe, expect, it } from 'vitest';
import type { AccountTarget } from '../../functions/core/organization.ts';
import { InvalidEventError, MemberRoleError } from '../../functions/shared/errors.ts';
import {
  encodeAccountMessage,
  parseAccountMessage,
  sweepAccountIds,
} from '../../functions/sweep/account-message.ts';
import {
  type AccountProgress,
  type AccountSweepPorts,
  sweepAccounts,
  sweepErrorOf,
  sweepTargets,
  totalSummary,
} from '../../functions/sweep/accounts.ts';
import { SweepError, type SweepOptions } from '../../functions/sweep/engine.ts';
import { ACCOUNT, FakeAccount, SETTINGS } from './fakes.ts';

const OPTIONS: SweepOptions = { settings: SETTINGS, source: 'credential-report', origin: 'schedule' };
const MEMBER_A = '111122223333';
const MEMBER_B = '444455556666';

function fleet(...accountIds: string[]): Map<string, FakeAccount> {
  return new Map(accountIds.map((id) => [id, new FakeAccount()]));
}

const portsOf =
  (accounts: Map<string, FakeAccount>, denied: ReadonlySet<string> = new Set()) =>
  async (target: AccountTarget): Promise<AccountSweepPorts> => {
    const { accountId } = target.account;
    if (denied.has(accountId)) {
      throw new MemberRoleError(
        accountId,
        `arn:aws:iam::${accountId}:role/KeyWardenMember`,
        'AccessDenied',
        'no',
      );
    }
    const fake = accounts.get(accountId) as FakeAccount;
    return { iam: fake.iam(), accountIam: fake.accountIam(), findings: fake.findingsPort() };
  };

const deps = (portsFor: (target: AccountTarget) => Promise<AccountSweepPorts>) => ({
  portsFor,
  clock: () => new Date(),
  sleep: async () => undefined,
});

describe('sweepTargets', () => {
  it('puts the function’s own account first, through its own credentials, then each member once by id', () => {
    const targets = sweepTargets(ACCOUNT, [MEMBER_B, ACCOUNT.accountId, MEMBER_A, MEMBER_B]);

    expect(targets.map((t) => [t.account.accountId, t.via])).toEqual([
      [ACCOUNT.accountId, 'own'],
      [MEMBER_A, 'member-role'],
      [MEMBER_B, 'member-role'],
    ]);
    expect(targets[1]?.account).toEqual({ ...ACCOUNT, accountId: MEMBER_A });
  });

  it('sweeps the own account alone when there is no member', () => {
    expect(sweepAccountIds(ACCOUNT, [])).toEqual([ACCOUNT.accountId]);
  });
});

describe('sweepAccounts', () => {
  it('sweeps the other accounts when one member role cannot be assumed, and names only that account', async () => {
    // Prepare
    const accounts = fleet(ACCOUNT.accountId, MEMBER_A, MEMBER_B);
    accounts.get(ACCOUNT.accountId)?.addUser('own-violator', { activeKeys: 2 });
    accounts.get(MEMBER_B)?.addUser('b-violator', { activeKeys: 2 });
    const targets = sweepTargets(ACCOUNT, [MEMBER_A, MEMBER_B]);

    // Act
    const sweeps = await sweepAccounts(deps(portsOf(accounts, new Set([MEMBER_A]))), targets, OPTIONS);

    // Assess
    expect(sweeps.map((s) => [s.target.account.accountId, s.status])).toEqual([
      [ACCOUNT.accountId, 'swept'],
      [MEMBER_A, 'failed'],
      [MEMBER_B, 'swept'],
    ]);
    expect(accounts.get(MEMBER_B)?.findings.size).toBe(1);
    expect(totalSummary(sweeps)).toMatchObject({ violating: 2, usersScanned: 2, findingsImported: 2 });
    const error = sweepErrorOf(sweeps);
    expect(error).toBeInstanceOf(SweepError);
    expect(error?.failedAccountIds).toEqual([MEMBER_A]);
    expect(error?.message).toMatch(`in account(s) ${MEMBER_A}, first: could not assume`);
    expect(error?.failures).toMatchObject([{ stage: 'account', accountId: MEMBER_A }]);
  });

  it('tags each user failure with its account, and the run fails naming it', async () => {
    const accounts = fleet(ACCOUNT.accountId, MEMBER_A);
    accounts.get(MEMBER_A)?.addUser('broken', { activeKeys: 2 });
    accounts.get(MEMBER_A)?.broken.add('broken');

    const sweeps = await sweepAccounts(deps(portsOf(accounts)), sweepTargets(ACCOUNT, [MEMBER_A]), OPTIONS);

    expect(sweeps.map((s) => s.status)).toEqual(['swept', 'swept']);
    expect(sweepErrorOf(sweeps)?.failures).toMatchObject([
      { stage: 'check', userName: 'broken', accountId: MEMBER_A },
    ]);
  });

  it('returns no error when every account is swept', async () => {
    const accounts = fleet(ACCOUNT.accountId, MEMBER_A);
    const sweeps = await sweepAccounts(deps(portsOf(accounts)), sweepTargets(ACCOUNT, [MEMBER_A]), OPTIONS);
    expect(sweepErrorOf(sweeps)).toBeUndefined();
  });

  it('runs at most accountConcurrency accounts at once', async () => {
    const ids = Array.from({ length: 9 }, (_, n) => String(200000000000 + n));
    const accounts = fleet(ACCOUNT.accountId, ...ids);
    let inFlight = 0;
    let peak = 0;
    const ports = portsOf(accounts);

    await sweepAccounts(
      {
        ...deps(async (target) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return ports(target);
        }),
        onAccount: (progress) => {
          if (progress.phase !== 'started') inFlight--;
        },
      },
      sweepTargets(ACCOUNT, ids),
      { ...OPTIONS, accountConcurrency: 3 },
    );

    expect(peak).toBe(3);
  });

  it('runs beforeOwnAccount in the own account only, and records its failure there', async () => {
    const accounts = fleet(ACCOUNT.accountId, MEMBER_A);
    const seen: string[] = [];
    const progress: AccountProgress['phase'][] = [];

    const sweeps = await sweepAccounts(
      {
        ...deps(portsOf(accounts)),
        beforeOwnAccount: async (target) => {
          seen.push(target.account.accountId);
          return { stage: 'trail-health', userName: undefined, error: new Error('trails unreadable') };
        },
        onAccount: (p) => progress.push(p.phase),
      },
      sweepTargets(ACCOUNT, [MEMBER_A]),
      { ...OPTIONS, accountConcurrency: 1 },
    );

    expect(seen).toEqual([ACCOUNT.accountId]);
    expect(sweepErrorOf(sweeps)?.failures).toMatchObject([
      { stage: 'trail-health', accountId: ACCOUNT.accountId },
    ]);
    expect(progress).toEqual(['started', 'swept', 'started', 'swept']);
  });
});

describe('account messages', () => {
  it('round-trips an account and its source', () => {
    const message = { accountId: MEMBER_A, sweepSource: 'full' as const };
    expect(parseAccountMessage(encodeAccountMessage(message))).toEqual(message);
  });

  it.each([
    { case: 'not JSON', body: 'account 1' },
    { case: 'not an object', body: '"111122223333"' },
    { case: 'no account', body: '{"sweepSource":"full"}' },
    { case: 'a short account id', body: '{"accountId":"1111","sweepSource":"full"}' },
    { case: 'an unknown source', body: '{"accountId":"111122223333","sweepSource":"all"}' },
  ])('refuses $case with InvalidEventError', ({ body }) => {
    expect(() => parseAccountMessage(body)).toThrow(InvalidEventError);
  });
});
