import { describe, expect, it } from 'vitest';
import { findingIdFor, GENERATOR_ID } from '../../functions/core/finding.ts';
import {
  buildThreatFinding,
  THREAT_GENERATOR_ID,
  threatFindingIdFor,
  threatRecordFromEvent,
} from '../../functions/core/threat-finding.ts';
import type { AccessKey } from '../../functions/core/types.ts';
import { runSweep, type SweepOptions } from '../../functions/sweep/engine.ts';
import {
  isOpenFinding,
  isResolvedFinding,
  openFindingFilters,
  resolvedFindingFilters,
  userNameOf,
} from '../../functions/sweep/stored-findings.ts';
import { EVENT_TRIGGER } from '../core/builders.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { ACCOUNT, FakeAccount, SETTINGS } from './fakes.ts';

const REPORT: SweepOptions = { settings: SETTINGS, source: 'credential-report', origin: 'schedule' };
const id = (userName: string): string => findingIdFor(ACCOUNT.accountId, userName);
const status = (account: FakeAccount, userName: string) => {
  const finding = account.findings.get(id(userName));
  return finding && `${finding.Compliance?.Status}/${finding.RecordState}`;
};

describe('runSweep', () => {
  it('imports the findings of 250 violators in batches of at most 100', async () => {
    // Prepare
    const account = new FakeAccount();
    for (let i = 0; i < 250; i++) account.addUser(`v${i}`, { activeKeys: 2 });

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    expect(account.importBatches).toEqual([100, 100, 50]);
    expect(result.summary).toMatchObject({ violating: 250, findingsImported: 250 });
  });

  it('reads only the candidates the report nominates, never every user', async () => {
    // Prepare
    const account = new FakeAccount();
    for (let i = 0; i < 300; i++) account.addUser(`c${i}`, { activeKeys: i % 2, inactiveKeys: 1 });
    account.addUser('two', { activeKeys: 2 });

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    expect(account.calls.readUser).toBe(1);
    expect(account.calls.listKeys).toBe(0);
    expect(account.calls.listUsers).toBe(0);
    expect(result.summary).toMatchObject({ usersScanned: 301, compliant: 300, violating: 1, candidates: 1 });
  });

  it('resolves the open finding of a user now compliant and archives that of a deleted user', async () => {
    // Prepare: a first sweep reports both, then one is fixed and the other deleted.
    const account = new FakeAccount();
    const fixed = account.addUser('fixed', { activeKeys: 2 });
    account.addUser('deleted', { activeKeys: 2 });
    account.addUser('stays', { activeKeys: 2 });
    await runSweep(account.deps(), REPORT, ACCOUNT);
    account.users.set('fixed', { ...fixed, keys: fixed.keys.slice(1) });
    account.users.delete('deleted');
    account.calls.getFinding = 0;

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    expect(status(account, 'fixed')).toBe('PASSED/ACTIVE');
    expect(status(account, 'deleted')).toBe('PASSED/ARCHIVED');
    expect(status(account, 'stays')).toBe('FAILED/ACTIVE');
    // The open finding read once for all is passed to the engine: no per-user re-read.
    expect(account.calls.getFinding).toBe(0);
    expect(result.summary).toMatchObject({
      usersScanned: 2,
      compliant: 1,
      violating: 1,
      resolved: 1,
      archived: 1,
      findingsImported: 3,
    });
  });

  it('archives a resolved finding whose user was deleted later, with one extra Security Hub read', async () => {
    // Prepare: reported, fixed (PASSED by the next sweep), then deleted.
    const account = new FakeAccount();
    const user = account.addUser('gone-later', { activeKeys: 2 });
    await runSweep(account.deps(), REPORT, ACCOUNT);
    account.users.set('gone-later', { ...user, keys: user.keys.slice(1) });
    await runSweep(account.deps(), REPORT, ACCOUNT);
    expect(status(account, 'gone-later')).toBe('PASSED/ACTIVE');
    account.users.delete('gone-later');
    account.calls.findFindings = 0;
    account.calls.listKeys = 0;

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    expect(status(account, 'gone-later')).toBe('PASSED/ARCHIVED');
    expect(result.summary).toMatchObject({ usersScanned: 0, archived: 1, findingsImported: 1 });
    // One read of the open findings, one of the resolved ones; the live check of the gone user.
    expect(account.calls.findFindings).toBe(2);
    expect(account.calls.listKeys).toBe(1);
  });

  it('leaves a resolved finding as it is while its user exists, listed or created since the report', async () => {
    // Prepare: both reported, then fixed (PASSED); the report is from before "new-since" existed.
    const account = new FakeAccount();
    for (const userName of ['listed', 'new-since']) account.addUser(userName, { activeKeys: 2 });
    await runSweep(account.deps(), REPORT, ACCOUNT);
    for (const [userName, user] of account.users)
      account.users.set(userName, { ...user, keys: user.keys.slice(1) });
    await runSweep(account.deps(), REPORT, ACCOUNT);
    const newSince = account.users.get('new-since');
    account.users.delete('new-since');
    account.reportCsv = account.reportFromState();
    if (newSince) account.users.set('new-since', newSince);
    const before = structuredClone([...account.findings.values()]);
    account.calls.listKeys = 0;
    account.calls.readUser = 0;

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess: only the user missing from the report is looked up, and nothing is written.
    expect(account.calls.listKeys).toBe(1);
    expect(account.calls.readUser).toBe(0);
    expect([...account.findings.values()]).toEqual(before);
    expect(result.summary).toMatchObject({ archived: 0, findingsImported: 0 });
  });

  it('writes no finding for a report candidate that is compliant live and was never reported', async () => {
    // Prepare: the report (hours old) still shows two active keys.
    const account = new FakeAccount();
    const user = account.addUser('rotated', { activeKeys: 2 });
    account.reportCsv = account.reportFromState();
    account.users.set('rotated', { ...user, keys: user.keys.slice(1) });

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    expect(account.importBatches).toEqual([]);
    expect(result.summary).toMatchObject({ usersScanned: 1, compliant: 1, violating: 0, candidates: 1 });
  });

  it('skips a candidate deleted since the report that was never reported, without reading Security Hub', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('left', { activeKeys: 2 });
    account.addUser('stays', { activeKeys: 1 });
    account.reportCsv = account.reportFromState();
    account.users.delete('left');

    // Act
    const result = await runSweep(
      account.deps(),
      { ...REPORT, settings: { ...SETTINGS, importFindings: false } },
      ACCOUNT,
    );

    // Assess
    expect(account.calls.getFinding + account.calls.findFindings).toBe(0);
    expect(result.outcomes.map((o) => o.result.verdict)).toEqual(['user-gone']);
    expect(result.summary).toMatchObject({ usersScanned: 1, compliant: 1, violating: 0, archived: 0 });
  });

  it('re-imports an open violation on every sweep, so Security Hub never expires it', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('lasting', { activeKeys: 2 });
    const deps = account.deps();
    await runSweep(deps, REPORT, ACCOUNT);
    const first = account.findings.get(id('lasting'))?.UpdatedAt;

    // Act
    await runSweep(deps, REPORT, ACCOUNT);

    // Assess
    const second = account.findings.get(id('lasting'))?.UpdatedAt;
    expect(account.importBatches).toEqual([1, 1]);
    expect(Date.parse(second as string)).toBeGreaterThan(Date.parse(first as string));
  });

  it('reports an exempt user as WARNING and never deactivates its keys', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('svc', { activeKeys: 2, tags: { 'keywarden:exempt': 'true' } });

    // Act
    const result = await runSweep(
      account.deps(),
      { ...REPORT, settings: { ...SETTINGS, remediationMode: 'deactivate' } },
      ACCOUNT,
    );

    // Assess
    expect(status(account, 'svc')).toBe('WARNING/ACTIVE');
    expect(account.calls.deactivate).toBe(0);
    expect(result.summary).toMatchObject({ exempt: 1, violating: 0, compliant: 0 });
  });

  it('is read-only when imports are off: no Security Hub read or write', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('v', { activeKeys: 2 });

    // Act
    const result = await runSweep(
      account.deps(),
      { ...REPORT, settings: { ...SETTINGS, importFindings: false } },
      ACCOUNT,
    );

    // Assess
    expect(account.calls.findFindings).toBe(0);
    expect(account.importBatches).toEqual([]);
    expect(result.outcomes.map((o) => [o.result.verdict, o.imported])).toEqual([['violation', false]]);
  });

  it.each([
    { keepKey: 'newest' as const, lastUsedCalls: 0 },
    { keepKey: 'last-used' as const, lastUsedCalls: 2 },
  ])(
    'takes last-used data from the report unless it decides the key to keep (KEEP_KEY=$keepKey)',
    async ({ keepKey, lastUsedCalls }) => {
      // Prepare
      const account = new FakeAccount();
      account.addUser('v', { activeKeys: 2 });

      // Act
      await runSweep(account.deps(), { ...REPORT, settings: { ...SETTINGS, keepKey } }, ACCOUNT);

      // Assess
      expect(account.calls.lastUsed).toBe(lastUsedCalls);
    },
  );

  it('lists every user live with --full and finds the same violations', async () => {
    // Prepare
    const account = new FakeAccount();
    for (let i = 0; i < 20; i++) account.addUser(`f${i}`, { activeKeys: i % 5 === 0 ? 2 : 1 });

    // Act
    const result = await runSweep(account.deps(), { ...REPORT, source: 'full' }, ACCOUNT);

    // Assess
    expect(account.calls.report).toBe(0);
    expect(account.calls.listKeys).toBe(20);
    expect(result.source).toBe('full');
    expect(result.summary).toMatchObject({ usersScanned: 20, violating: 4, compliant: 16 });
  });

  it('falls back to the full listing when the report cannot be parsed, and says why', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('v', { activeKeys: 2 });
    account.reportCsv = 'user,arn\nv,arn:aws:iam::123456789012:user/v\n';
    const warnings: string[] = [];

    // Act
    const result = await runSweep(
      account.deps({ onWarning: (message) => warnings.push(message) }),
      REPORT,
      ACCOUNT,
    );

    // Assess
    expect(result.source).toBe('full');
    expect(result.fallbackReason).toMatch(/access_key_1_active/);
    expect(warnings).toHaveLength(1);
    expect(result.summary.violating).toBe(1);
  });

  it('checks the other users when one fails, then returns the failure', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('ok1', { activeKeys: 2 });
    account.addUser('bad', { activeKeys: 2 });
    account.addUser('ok2', { activeKeys: 2 });
    account.broken.add('bad');

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    expect(result.failures).toEqual([{ stage: 'check', userName: 'bad', error: expect.any(Error) }]);
    expect(status(account, 'ok1')).toBe('FAILED/ACTIVE');
    expect(status(account, 'ok2')).toBe('FAILED/ACTIVE');
    expect(result.summary).toMatchObject({ usersScanned: 3, violating: 2, failed: 1, compliant: 0 });
  });

  it('starts no further user once maxFailures users have failed', async () => {
    // Prepare: a missing permission fails every user alike.
    const account = new FakeAccount();
    for (let i = 0; i < 30; i++) {
      account.addUser(`d${i}`, { activeKeys: 2 });
      account.broken.add(`d${i}`);
    }

    // Act
    const result = await runSweep(account.deps(), { ...REPORT, concurrency: 1, maxFailures: 3 }, ACCOUNT);

    // Assess
    expect(account.calls.readUser).toBe(3);
    expect(result.failures).toHaveLength(3);
  });

  it('imports the other batches when one fails, then returns the failure', async () => {
    // Prepare
    const account = new FakeAccount();
    for (let i = 0; i < 150; i++) account.addUser(`b${i}`, { activeKeys: 2 });
    account.failingImports.add(1);

    // Act
    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    expect(account.importBatches).toEqual([100, 50]);
    expect(result.failures).toEqual([{ stage: 'import', userName: undefined, error: expect.any(Error) }]);
    expect(result.summary.findingsImported).toBe(50);
  });

  it('notifies a new violation and a deactivation, but not a violation already reported', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('known', { activeKeys: 2 });
    await runSweep(account.deps(), REPORT, ACCOUNT);
    account.addUser('new', { activeKeys: 2 });

    // Act
    await runSweep(account.deps({ notifier: account.notifier() }), REPORT, ACCOUNT);

    // Assess
    expect(account.notifications.map((n) => [n.outcome, n.detail.userName])).toEqual([
      ['Violation Detected', 'new'],
    ]);
  });

  it('deactivates after the rotation grace, and only reports inside it', async () => {
    // Prepare: the newer key was created at 2024-01-01T00:00:02Z; a 24-hour grace.
    const account = new FakeAccount();
    account.addUser('rotating', { activeKeys: 2 });
    const options = {
      ...REPORT,
      settings: { ...SETTINGS, remediationMode: 'deactivate' as const, rotationGraceHours: 24 },
    };
    const at = (iso: string) => {
      let tick = Date.parse(iso);
      return () => new Date(tick++);
    };

    // Act
    const inside = await runSweep(account.deps({ clock: at('2024-01-01T23:00:00Z') }), options, ACCOUNT);
    const after = await runSweep(account.deps({ clock: at('2024-01-02T01:00:00Z') }), options, ACCOUNT);

    // Assess
    expect(inside.outcomes[0]?.result.action).toEqual({
      kind: 'postponed',
      until: new Date('2024-01-02T00:00:02Z'),
    });
    expect(inside.summary).toMatchObject({ postponed: 1, deactivated: 0 });
    expect(after.outcomes[0]?.result.action.kind).toBe('deactivated');
    expect(after.summary).toMatchObject({ postponed: 0, deactivated: 1 });
    expect(account.users.get('rotating')?.keys.map((k) => k.status)).toEqual(['Inactive', 'Active']);
    expect(status(account, 'rotating')).toBe('PASSED/ACTIVE');
  });
});

describe('open findings', () => {
  const base = {
    Id: id('alice'),
    GeneratorId: GENERATOR_ID,
    ProductArn: `arn:aws:securityhub:us-east-1:${ACCOUNT.accountId}:product/${ACCOUNT.accountId}/default`,
    AwsAccountId: ACCOUNT.accountId,
    RecordState: 'ACTIVE' as const,
    Compliance: { Status: 'FAILED' as const },
    ProductFields: { 'keywarden/detector/userName': 'alice' },
  };

  it('asks Security Hub for the CIS 1.13 and threat generators, product and account, FAILED or WARNING, ACTIVE', () => {
    expect(openFindingFilters(ACCOUNT)).toEqual({
      GeneratorId: [
        { Value: GENERATOR_ID, Comparison: 'EQUALS' },
        { Value: THREAT_GENERATOR_ID, Comparison: 'EQUALS' },
      ],
      ProductArn: [{ Value: base.ProductArn, Comparison: 'EQUALS' }],
      AwsAccountId: [{ Value: ACCOUNT.accountId, Comparison: 'EQUALS' }],
      ComplianceStatus: [
        { Value: 'FAILED', Comparison: 'EQUALS' },
        { Value: 'WARNING', Comparison: 'EQUALS' },
      ],
      RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }],
    });
  });

  it.each([
    { case: 'a FAILED, ACTIVE finding of this generator', change: {}, open: true },
    {
      case: 'a WARNING (exempt) finding',
      change: { Compliance: { Status: 'WARNING' as const } },
      open: true,
    },
    { case: 'a PASSED finding', change: { Compliance: { Status: 'PASSED' as const } }, open: false },
    { case: 'an ARCHIVED finding', change: { RecordState: 'ARCHIVED' as const }, open: false },
    { case: 'another generator', change: { GeneratorId: 'someone-else' }, open: false },
    { case: 'a threat finding', change: { GeneratorId: THREAT_GENERATOR_ID }, open: false },
    { case: 'another account', change: { AwsAccountId: '210987654321' }, open: false },
    {
      case: 'another region',
      change: {
        ProductArn: `arn:aws:securityhub:eu-west-1:${ACCOUNT.accountId}:product/${ACCOUNT.accountId}/default`,
      },
      open: false,
    },
  ])('re-checks client-side: $case is open=$open', ({ change, open }) => {
    expect(isOpenFinding(ACCOUNT, { ...base, ...change } as never)).toBe(open);
  });

  it('asks Security Hub for the resolved CIS 1.13 findings still active: this generator only, PASSED', () => {
    expect(resolvedFindingFilters(ACCOUNT)).toEqual({
      ...openFindingFilters(ACCOUNT),
      GeneratorId: [{ Value: GENERATOR_ID, Comparison: 'EQUALS' }],
      ComplianceStatus: [{ Value: 'PASSED', Comparison: 'EQUALS' }],
    });
  });

  it.each([
    {
      case: 'a PASSED, ACTIVE finding of this generator',
      change: { Compliance: { Status: 'PASSED' } },
      resolved: true,
    },
    { case: 'a FAILED finding', change: {}, resolved: false },
    {
      case: 'a PASSED, ARCHIVED finding',
      change: { Compliance: { Status: 'PASSED' }, RecordState: 'ARCHIVED' },
      resolved: false,
    },
    {
      case: 'a PASSED finding of another generator',
      change: { Compliance: { Status: 'PASSED' }, GeneratorId: 'someone-else' },
      resolved: false,
    },
    {
      case: 'a PASSED finding of another account',
      change: { Compliance: { Status: 'PASSED' }, AwsAccountId: '210987654321' },
      resolved: false,
    },
  ])('re-checks client-side: $case is resolved=$resolved', ({ change, resolved }) => {
    expect(isResolvedFinding(ACCOUNT, { ...base, ...change } as never)).toBe(resolved);
  });

  it.each([
    { case: 'the product field', finding: base, userName: 'alice' },
    {
      case: 'the AwsIamUser resource details',
      finding: { Resources: [{ Type: 'AwsIamUser', Id: 'x', Details: { AwsIamUser: { UserName: 'bob' } } }] },
      userName: 'bob',
    },
    {
      case: 'the AwsIamUser resource ARN',
      finding: { Resources: [{ Type: 'AwsIamUser', Id: 'arn:aws:iam::123456789012:user/eng/carol' }] },
      userName: 'carol',
    },
    { case: 'nothing', finding: { Resources: [] }, userName: undefined },
  ])('reads the user name from $case', ({ finding, userName }) => {
    expect(userNameOf(finding as never)).toBe(userName);
  });
});

describe('runSweep and threat findings', () => {
  /** Stores an open threat finding for the user's `index`-th key, as the detector raised it. */
  function storeThreat(account: FakeAccount, userName: string, key: AccessKey): string {
    const snapshot = account.users.get(userName);
    if (snapshot === undefined) throw new Error('no such user');
    const record = threatRecordFromEvent({
      trigger: { ...EVENT_TRIGGER, accessKeyId: key.accessKeyId, eventTime: '2026-01-01T00:00:00Z' },
      grant: { accessKeyId: key.accessKeyId, how: 'created' },
      user: snapshot.user,
      keys: snapshot.keys,
      now: new Date('2026-01-01T00:00:01Z'),
    });
    const finding = buildThreatFinding(ACCOUNT, record, { key: 'active' }, new Date('2026-01-01T00:00:01Z'));
    account.findings.set(finding.Id as string, finding);
    return finding.Id as string;
  }

  const state = (account: FakeAccount, id: string) => {
    const finding = account.findings.get(id);
    return `${finding?.Compliance?.Status}/${finding?.RecordState}`;
  };

  // Each key state beside its twin: only an inactive or deleted key resolves its threat finding.
  it.each([
    { case: 'still active', change: (keys: AccessKey[]) => keys, expected: 'FAILED/ACTIVE', resolved: 0 },
    {
      case: 'inactive',
      change: (keys: AccessKey[]) => keys.map((k, i) => (i === 1 ? { ...k, status: 'Inactive' } : k)),
      expected: 'PASSED/ACTIVE',
      resolved: 1,
    },
    {
      case: 'deleted',
      change: (keys: AccessKey[]) => keys.slice(0, 1),
      expected: 'PASSED/ARCHIVED',
      resolved: 1,
    },
  ])(
    'leaves a threat finding open while its key is active, resolves it when it is $case',
    async ({ change, expected, resolved }) => {
      // Prepare
      const account = new FakeAccount();
      const snapshot = account.addUser('bob', { activeKeys: 2 });
      const minted = snapshot.keys[1] as AccessKey;
      const threatId = storeThreat(account, 'bob', minted);
      account.users.set('bob', { ...snapshot, keys: change([...snapshot.keys]) });
      const before = account.findings.get(threatId);

      // Act
      const result = await runSweep(account.deps(), REPORT, ACCOUNT);

      // Assess
      expect(state(account, threatId)).toBe(expected);
      expect(result.threatFindingsResolved).toBe(resolved);
      expect(account.findings.get(threatId)?.Severity?.Label).toBe('HIGH');
      if (resolved === 0) expect(account.findings.get(threatId)).toBe(before);
      else {
        expectValidAsff(account.findings.get(threatId));
        expect(account.findings.get(threatId)?.ProductFields?.['keywarden/threat/resolvedBy']).toBe(
          'found by the scheduled sweep',
        );
      }
    },
  );

  // Each beside its twin: only an open threat finding on the newer key makes KEEP_KEY=auto keep the older one.
  it.each([
    { case: 'the newer key has an open threat finding', threat: true, kept: 0 },
    { case: 'no key has one', threat: false, kept: 1 },
  ])('keeps key $kept with KEEP_KEY=auto when $case', async ({ threat, kept }) => {
    const account = new FakeAccount();
    const snapshot = account.addUser('bob', { activeKeys: 2 });
    if (threat) storeThreat(account, 'bob', snapshot.keys[1] as AccessKey);
    const settings = { ...SETTINGS, keepKey: 'auto' as const, remediationMode: 'deactivate' as const };

    await runSweep(account.deps(), { ...REPORT, settings }, ACCOUNT);

    const keys = account.users.get('bob')?.keys ?? [];
    expect(keys.map((key) => key.status)).toEqual(
      kept === 0 ? ['Active', 'Inactive'] : ['Inactive', 'Active'],
    );
    expect(account.findings.get(id('bob'))?.ProductFields?.['keywarden/detector/keyToKeepReason']).toMatch(
      threat ? /another principal that is not a trusted key issuer/ : /no newer key is known/,
    );
  });

  it('archives the threat findings of a deleted user', async () => {
    const account = new FakeAccount();
    const snapshot = account.addUser('gone', { activeKeys: 1 });
    const threatId = storeThreat(account, 'gone', snapshot.keys[0] as AccessKey);
    account.users.delete('gone');

    await runSweep(account.deps(), REPORT, ACCOUNT);

    expect(state(account, threatId)).toBe('PASSED/ARCHIVED');
  });

  it('raises no threat finding: it cannot know who created a key', async () => {
    const account = new FakeAccount();
    account.addUser('alice', { activeKeys: 2 });

    await runSweep(account.deps(), REPORT, ACCOUNT);

    expect([...account.findings.values()].filter((f) => f.GeneratorId === THREAT_GENERATOR_ID)).toEqual([]);
    expect([...account.findings.keys()]).toEqual([id('alice')]);
  });

  it('reads the open threat findings in the same query as the compliance findings', async () => {
    const account = new FakeAccount();
    const snapshot = account.addUser('bob', { activeKeys: 1 });
    storeThreat(account, 'bob', snapshot.keys[0] as AccessKey);

    await runSweep(account.deps(), REPORT, ACCOUNT);

    // One read for the open CIS 1.13 and threat findings; the other is the resolved CIS 1.13 findings'.
    expect(account.calls.findFindings).toBe(2);
    expect(account.calls.listKeys).toBe(1);
  });

  it('writes nothing in a read-only scan', async () => {
    const account = new FakeAccount();
    const snapshot = account.addUser('bob', { activeKeys: 1, inactiveKeys: 1 });
    const threatId = storeThreat(account, 'bob', snapshot.keys[1] as AccessKey);

    const result = await runSweep(
      account.deps(),
      { ...REPORT, settings: { ...SETTINGS, importFindings: false }, reconcileFindings: true },
      ACCOUNT,
    );

    expect(state(account, threatId)).toBe('FAILED/ACTIVE');
    expect(result.threatFindingsResolved).toBe(0);
    expect(account.importBatches).toEqual([]);
  });

  it('reports a user whose keys cannot be read, and leaves its threat findings as they are', async () => {
    const account = new FakeAccount();
    const snapshot = account.addUser('bob', { activeKeys: 1, inactiveKeys: 1 });
    const threatId = storeThreat(account, 'bob', snapshot.keys[1] as AccessKey);
    account.broken.add('bob');

    const result = await runSweep(account.deps(), REPORT, ACCOUNT);

    expect(state(account, threatId)).toBe('FAILED/ACTIVE');
    expect(result.failures.map((f) => [f.stage, f.userName])).toContainEqual(['check', 'bob']);
    expect(threatFindingIdFor(ACCOUNT.accountId, snapshot.keys[1]?.accessKeyId ?? '')).toBe(threatId);
  });
});

describe('runSweep keeps what it learns', () => {
  it('imports each batch of users before it checks the next, so a cut-short sweep keeps what it checked', async () => {
    // Prepare
    const account = new FakeAccount();
    for (let i = 0; i < 150; i++) account.addUser(`b${i}`, { activeKeys: 2 });
    const readsAtImport: number[] = [];
    const deps = account.deps();
    const findings = {
      ...deps.findings,
      importFindings: async (batch: Parameters<typeof deps.findings.importFindings>[0]) => {
        readsAtImport.push(account.calls.readUser);
        return deps.findings.importFindings(batch);
      },
    };

    // Act
    await runSweep({ ...deps, findings }, REPORT, ACCOUNT);

    // Assess: the first 100 were imported before user 101 was read.
    expect(account.importBatches).toEqual([100, 50]);
    expect(readsAtImport).toEqual([100, 150]);
  });

  it('records a deactivation at once (intent, then the outcome proven by a read), not with its batch', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('deact', { activeKeys: 2 });
    account.addUser('other', { activeKeys: 2, tags: { 'keywarden:exempt': 'true' } });

    // Act
    await runSweep(
      account.deps(),
      { ...REPORT, settings: { ...SETTINGS, remediationMode: 'deactivate' } },
      ACCOUNT,
    );

    // Assess: intent and outcome one finding each, then the batch with the exempt user's finding.
    expect(account.importBatches).toEqual([1, 1, 1]);
    expect(status(account, 'deact')).toBe('PASSED/ACTIVE');
    expect(
      account.findings.get(id('deact'))?.ProductFields?.['keywarden/detector/deactivatedKeys'],
    ).toBeTruthy();
  });

  it("keeps the stored finding's last real trigger (who, from where, with what) when it re-imports it", async () => {
    // Prepare: a violation reported by an event, then swept.
    const account = new FakeAccount();
    const user = account.addUser('forensic', { activeKeys: 2 });
    const { checkUser } = await import('../../functions/engine/check-user.ts');
    const { EVENT_TRIGGER } = await import('../core/builders.ts');
    await checkUser(account.deps(), SETTINGS, ACCOUNT, {
      userName: user.user.userName,
      trigger: EVENT_TRIGGER,
    });

    // Act
    await runSweep(account.deps(), REPORT, ACCOUNT);

    // Assess
    const fields = account.findings.get(id('forensic'))?.ProductFields ?? {};
    expect(fields).toMatchObject({
      'keywarden/detector/trigger': 'sweep:schedule',
      'keywarden/detector/trigger/eventName': 'CreateAccessKey',
      'keywarden/detector/trigger/actorArn': EVENT_TRIGGER.actorArn,
      'keywarden/detector/trigger/sourceIp': EVENT_TRIGGER.sourceIp,
      'keywarden/detector/trigger/userAgent': EVENT_TRIGGER.userAgent,
    });
    expect(fields['keywarden/detector/confirmedBySweepAt']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(account.findings.get(id('forensic'))?.Description).toContain(
      `Last event: CreateAccessKey of ${EVENT_TRIGGER.accessKeyId} by ${EVENT_TRIGGER.actorArn}`,
    );
  });
});
