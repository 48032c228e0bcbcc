import { describe, expect, it } from 'vitest';
import type { UsageEventsPort } from '../../functions/adapters/usage-events.ts';
import {
  buildScanReport,
  exitCodeFor,
  renderJson,
  renderTable,
  type ScanReport,
  summaryLine,
} from '../../functions/cli/report.ts';
import { summariseUsage, usageUnavailable } from '../../functions/core/usage-evidence.ts';
import { runSweep, type SweepOptions } from '../../functions/sweep/engine.ts';
import { ACCOUNT, FakeAccount, SETTINGS } from '../sweep/fakes.ts';

const OPTIONS: SweepOptions = {
  settings: { ...SETTINGS, importFindings: false },
  source: 'credential-report',
  origin: 'cli',
};

async function reportFor(account: FakeAccount, options: SweepOptions = OPTIONS): Promise<ScanReport> {
  const result = await runSweep(account.deps(), options, ACCOUNT);
  return buildScanReport(result, {
    account: ACCOUNT,
    scannedAt: new Date('2026-06-01T12:00:00Z'),
    version: '9.9.9',
    settings: {
      remediation: options.settings.remediationMode,
      keepKey: options.settings.keepKey,
      exemptTag: options.settings.exemptTag,
      rotationGraceHours: options.settings.rotationGraceHours,
      importFindings: options.settings.importFindings,
    },
    describeError: (error) => `described: ${(error as Error).message}`,
  });
}

describe('buildScanReport', () => {
  it('lists each violator with its name, ARN, active key ids and the key to keep, sorted by name', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('zed', { activeKeys: 2, path: '/ops/' });
    account.addUser('amy', { activeKeys: 2 });
    account.addUser('ok', { activeKeys: 1 });

    // Act
    const report = await reportFor(account);

    // Assess
    expect(report.violations.map((v) => v.userName)).toEqual(['amy', 'zed']);
    const [, zed] = report.violations;
    const keys = account.users.get('zed')?.keys.map((k) => k.accessKeyId) ?? [];
    expect(zed).toMatchObject({
      userArn: 'arn:aws:iam::123456789012:user/ops/zed',
      path: '/ops/',
      activeAccessKeyIds: keys,
      keyToKeep: keys[1],
      keysToDeactivate: [keys[0]],
      action: 'none',
      actionDetail: 'reported only',
      findingId: 'keywarden/cis-1.13/123456789012/zed',
    });
    expect(report.summary).toMatchObject({ usersScanned: 3, compliant: 1, violating: 2, exempt: 0 });
  });

  it.each([
    { mode: 'dry-run' as const, detail: /^would deactivate AKIA\w+, keep AKIA\w+$/ },
    { mode: 'deactivate' as const, detail: /^deactivated AKIA\w+, kept AKIA\w+$/ },
  ])('says what remediation did in $mode mode', async ({ mode, detail }) => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('amy', { activeKeys: 2 });

    // Act
    const report = await reportFor(account, {
      ...OPTIONS,
      settings: { ...OPTIONS.settings, remediationMode: mode },
    });

    // Assess
    expect(report.violations[0]?.actionDetail).toMatch(detail);
  });

  it('lists exempt users apart from violations', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('svc', { activeKeys: 2, path: '/service/', tags: { 'keywarden:exempt': 'true' } });

    // Act
    const report = await reportFor(account);

    // Assess
    expect(report.violations).toEqual([]);
    expect(report.exempt).toEqual([
      {
        userName: 'svc',
        userArn: 'arn:aws:iam::123456789012:user/service/svc',
        path: '/service/',
        activeAccessKeyIds: account.users.get('svc')?.keys.map((k) => k.accessKeyId),
        reason: expect.stringContaining('keywarden:exempt=true'),
        exemptUntil: null,
      },
    ]);
  });

  it('describes each failure with the given describer', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('bad', { activeKeys: 2 });
    account.broken.add('bad');

    // Act
    const report = await reportFor(account);

    // Assess
    expect(report.errors).toEqual([
      { stage: 'check', userName: 'bad', message: 'described: read of bad failed' },
    ]);
  });
});

describe('exitCodeFor', () => {
  it.each([
    { case: 'a compliant account', users: [{ activeKeys: 1 }], broken: false, code: 0 },
    {
      case: 'an account with only exempt users',
      users: [{ activeKeys: 2, tags: { 'keywarden:exempt': 'true' } }],
      broken: false,
      code: 0,
    },
    { case: 'a violation', users: [{ activeKeys: 2 }], broken: false, code: 2 },
    { case: 'an incomplete scan', users: [{ activeKeys: 2 }], broken: true, code: 1 },
  ])('returns $code for $case', async ({ users, broken, code }) => {
    // Prepare
    const account = new FakeAccount();
    for (const [i, spec] of users.entries()) account.addUser(`u${i}`, spec);
    if (broken) account.broken.add('u0');

    // Act
    const report = await reportFor(account);

    // Assess
    expect(exitCodeFor(report)).toBe(code);
  });
});

describe('renderTable', () => {
  it('shows violators, exempt users and the closing summary', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('amy', { activeKeys: 2 });
    account.addUser('svc', { activeKeys: 2, tags: { 'keywarden:exempt': 'true' } });
    account.addUser('ok', { activeKeys: 1 });

    // Act
    const text = renderTable(await reportFor(account));

    // Assess
    expect(text).toContain('Account 123456789012 (aws, us-east-1)');
    const [, keep] = account.users.get('amy')?.keys.map((k) => k.accessKeyId) ?? [];
    expect(text).toMatch(/^USER +ARN +ACTIVE ACCESS KEYS \(CREATED, LAST USED\) +KEY TO KEEP +ACTION$/m);
    expect(text).toMatch(
      new RegExp(
        `^amy +arn:aws:iam::123456789012:user/amy +AKIA\\w+ \\(2024-01-01, never used\\), AKIA\\w+ \\(2024-01-01, never used\\) +${keep} +reported only$`,
        'm',
      ),
    );
    expect(text).toMatch(/^1 exempt user \(tagged keywarden:exempt=true/m);
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'Summary: 3 users scanned, 1 compliant, 1 violating, 1 exempt.',
    );
  });

  it('says until when each user is exempt when an exemption ends at a time', async () => {
    // Prepare
    const account = new FakeAccount();
    // Within MAX_EXEMPTION_DAYS (default 90) of now, so the exemption is valid.
    const day = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    account.addUser('etl', { activeKeys: 2, tags: { 'keywarden:exempt': `${day}T00:00:00Z` } });
    account.addUser('svc', { activeKeys: 2, tags: { 'keywarden:exempt': 'true' } });

    // Act
    const text = renderTable(await reportFor(account));

    // Assess
    expect(text).not.toContain('keywarden:exempt=true, reported, never changed');
    expect(text).toMatch(
      /^2 exempt users \(tagged keywarden:exempt: reported, not changed until the exemption ends\):$/m,
    );
    expect(text).toMatch(/^USER +ARN +ACTIVE ACCESS KEYS +EXEMPT UNTIL$/m);
    expect(text).toMatch(
      new RegExp(
        `^etl +arn:aws:iam::123456789012:user/etl +AKIA\\w+, AKIA\\w+ +${day}T00:00:00\\.000Z$`,
        'm',
      ),
    );
    expect(text).toMatch(
      /^svc +arn:aws:iam::123456789012:user\/svc +AKIA\w+, AKIA\w+ +no end \(tagged true\)$/m,
    );
  });

  it('shows when each active key was last used, and says when that is not known', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('amy', { activeKeys: 2 });
    const report = await reportFor(account);
    const [violation] = report.violations;
    const [first, second] = violation?.activeAccessKeys ?? [];
    const withUse: ScanReport = {
      ...report,
      violations: [
        {
          ...(violation as ScanReport['violations'][number]),
          activeAccessKeys: [
            {
              accessKeyId: first?.accessKeyId ?? '',
              createDate: first?.createDate ?? '',
              lastUsedDate: '2026-05-30T08:00:00.000Z',
            },
            { accessKeyId: second?.accessKeyId ?? '', createDate: second?.createDate ?? '' },
          ],
        },
      ],
    };

    // Act
    const text = renderTable(withUse);

    // Assess
    expect(text).toContain(
      `${first?.accessKeyId} (2024-01-01, used 2026-05-30), ${second?.accessKeyId} (2024-01-01, last use unknown)`,
    );
  });

  it.each([
    {
      case: 'no violation among the users checked',
      users: [{ activeKeys: 1 }, { activeKeys: 2 }],
      headline:
        'The scan is incomplete: 1 user could not be checked; none of the others has more than one active access key.',
    },
    {
      case: 'a violation',
      users: [{ activeKeys: 2 }, { activeKeys: 2 }],
      headline:
        '1 user with more than one active access key (the scan is incomplete: 1 user could not be checked):',
    },
  ])(
    'opens an incomplete scan with $case by saying how many users are unknown',
    async ({ users, headline }) => {
      // Prepare
      const account = new FakeAccount();
      for (const [i, spec] of users.entries()) account.addUser(`u${i}`, spec);
      account.broken.add('u1');

      // Act
      const text = renderTable(await reportFor(account));

      // Assess
      expect(text.split('\n')[3]).toBe(headline);
      expect(text).not.toContain('No IAM user has more than one active access key');
    },
  );

  it('says so when no user violates', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('ok', { activeKeys: 1 });

    // Act
    const text = renderTable(await reportFor(account));

    // Assess
    expect(text).toContain('No IAM user has more than one active access key.');
    expect(text).not.toContain('USER');
  });
});

describe('renderJson', () => {
  it('writes the report as one JSON document', async () => {
    // Prepare
    const account = new FakeAccount();
    account.addUser('amy', { activeKeys: 2 });
    const report = await reportFor(account);

    // Act
    const parsed = JSON.parse(renderJson(report));

    // Assess
    expect(parsed).toEqual(JSON.parse(JSON.stringify(report)));
    expect(Object.keys(parsed.violations[0])).toEqual(
      expect.arrayContaining(['userName', 'userArn', 'activeAccessKeyIds']),
    );
  });
});

describe('summaryLine', () => {
  const base = {
    usersScanned: 10,
    compliant: 7,
    violating: 2,
    exempt: 1,
    failed: 0,
    candidates: 3,
    deactivated: 0,
    postponed: 0,
    resolved: 0,
    archived: 0,
    findingsImported: 0,
  };

  it.each([
    {
      case: 'a plain scan',
      summary: base,
      line: 'Summary: 10 users scanned, 7 compliant, 2 violating, 1 exempt.',
    },
    {
      case: 'errors',
      summary: { ...base, compliant: 6, failed: 1 },
      line: 'Summary: 10 users scanned, 6 compliant, 2 violating, 1 exempt, 1 not checked (errors).',
    },
    {
      case: 'remediation and closed findings',
      summary: { ...base, deactivated: 2, resolved: 1, archived: 3 },
      line: 'Summary: 10 users scanned, 7 compliant, 2 violating, 1 exempt, 2 remediated, 1 finding(s) resolved, 3 archived.',
    },
  ])('reads $case', ({ summary, line }) => {
    expect(summaryLine(summary)).toBe(line);
  });
});

describe('usage evidence in the scan report', () => {
  const usagePort = (failing: boolean): UsageEventsPort => ({
    usage: async (queries, window) =>
      failing
        ? usageUnavailable(queries, window, 'us-east-1: AccessDeniedException: not authorized')
        : {
            ...window,
            keys: queries.map((query) =>
              summariseUsage(query.accessKeyId, [
                {
                  region: 'us-east-1',
                  pages: 1,
                  records: [1, 2, 3].map((minute) => ({
                    eventTime: new Date(Date.UTC(2026, 4, 31, 10, minute)),
                    eventSource: 'ec2.amazonaws.com',
                    sourceIp: '198.51.100.10',
                    userAgent: 'payments-api/3.1',
                  })),
                },
              ]),
            ),
          },
  });

  async function reportWith(failing: boolean): Promise<ScanReport> {
    const account = new FakeAccount();
    account.addUser('amy', { activeKeys: 2 });
    account.addUser('ok', { activeKeys: 1 });
    const result = await runSweep({ ...account.deps(), usageEvents: usagePort(failing) }, OPTIONS, ACCOUNT);
    return buildScanReport(result, {
      account: ACCOUNT,
      scannedAt: new Date('2026-06-01T12:00:00Z'),
      version: '9.9.9',
      settings: {
        remediation: 'off',
        keepKey: 'newest',
        exemptTag: 'keywarden:exempt',
        rotationGraceHours: 0,
        importFindings: false,
      },
      describeError: (error) => String(error),
    });
  }

  it('gives each active key of a violator its usage in the JSON', async () => {
    const report = await reportWith(false);
    const json = JSON.parse(renderJson(report)) as ScanReport;
    expect(json.violations[0]?.activeAccessKeys[0]?.usage).toMatchObject({
      status: 'complete',
      scope: expect.stringContaining('management events only'),
      regions: ['us-east-1'],
      calls: 3,
      firstSeen: '2026-05-31T10:01:00.000Z',
      lastSeen: '2026-05-31T10:03:00.000Z',
      sourceIps: [{ value: '198.51.100.10', count: 3 }],
      userAgents: [{ value: 'payments-api/3.1', count: 3 }],
      eventSources: [{ value: 'ec2.amazonaws.com', count: 3 }],
      gaps: [],
    });
  });

  it('lists where each key is used under the table', async () => {
    const table = renderTable(await reportWith(false));
    expect(table).toContain('Where the keys are used (CloudTrail management events only');
    expect(table).toMatch(
      /\n {2}amy AKIA\w+: 3 management events in us-east-1 over the last 7 days, first 2026-05-31T10:01:00.000Z, last 2026-05-31T10:03:00.000Z; complete; source IPs: 198.51.100.10 \(3\); user agents: payments-api\/3.1 \(3\); event sources: ec2.amazonaws.com \(3\)\n/,
    );
  });

  it('says why the usage is missing when it could not be read', async () => {
    const table = renderTable(await reportWith(true));
    expect(table).toMatch(
      /\n {2}amy AKIA\w+: usage evidence unavailable \(us-east-1: AccessDeniedException: not authorized\)\n/,
    );
  });

  it('its twin with no usage read lists nothing', async () => {
    const account = new FakeAccount();
    account.addUser('amy', { activeKeys: 2 });
    expect(renderTable(await reportFor(account))).not.toContain('Where the keys are used');
  });
});
