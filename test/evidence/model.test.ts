/** The evidence model and its renderings, from findings made by the real builders. */

import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../functions/core/finding.ts';
import { csvField, renderCsv } from '../../functions/evidence/csv.ts';
import { escapeHtml, renderHtml } from '../../functions/evidence/html.ts';
import {
  type AccountInput,
  buildEvidenceReport,
  type EvidenceContext,
  type IamUserState,
  openPerDay,
  type ResolvedViolation,
  reportedFindings,
  resolutionOf,
  resolvedViolationFrom,
  resolveTimes,
} from '../../functions/evidence/model.ts';
import { OCSF_VERSION, renderOcsf } from '../../functions/evidence/ocsf.ts';
import { EVENT_TRIGGER } from '../core/builders.ts';
import {
  ACCOUNT,
  archivedViolation,
  deactivatedFinding,
  exemptFinding,
  healthFinding,
  iso,
  NOW,
  openViolation,
  plainPassed,
  resolvedFinding,
  threatFinding,
} from './builders.ts';
import { expectOcsfEvent } from './ocsf-schema.ts';

const CONTEXT: EvidenceContext = {
  now: NOW,
  sinceDays: 30,
  generatedBy: 'arn:aws:sts::123456789012:assumed-role/Auditor/jane',
  version: '0.1.0',
  region: 'us-east-1',
  scope: 'accounts',
  roleName: 'KeyWardenMember',
};

const ADMIN_UPDATE = { ...EVENT_TRIGGER, eventName: 'UpdateAccessKey' as const, accessKeyId: 'AKIAX' };
const ADMIN_DELETE = { ...EVENT_TRIGGER, eventName: 'DeleteAccessKey' as const, accessKeyId: 'AKIAX' };

const user = (userName: string, activeKeys: number): IamUserState => ({
  userName,
  arn: `arn:aws:iam::${ACCOUNT.accountId}:user/${userName}`,
  activeKeys,
});

function readAccount(
  findings: Finding[],
  users: IamUserState[],
  accountId = ACCOUNT.accountId,
): AccountInput {
  return {
    accountId,
    name: undefined,
    via: 'own',
    read: {
      kind: 'read',
      findings,
      users,
      iamSource: 'credential-report',
      iamGeneratedAt: new Date(iso(2)),
      readAt: NOW,
    },
  };
}

describe('resolutionOf and resolvedViolationFrom', () => {
  it.each([
    {
      case: 'KeyWarden deactivated',
      finding: () => deactivatedFinding('a', 10, 9),
      how: 'deactivated-by-keywarden',
      by: 'KeyWarden',
    },
    {
      case: 'a person deactivated',
      finding: () => resolvedFinding('b', 10, 4, ADMIN_UPDATE),
      how: 'deactivated',
      by: EVENT_TRIGGER.actorArn,
    },
    {
      case: 'a person deleted the key',
      finding: () => resolvedFinding('c', 10, 4, ADMIN_DELETE, ['gone', 'Active']),
      how: 'key-deleted',
      by: EVENT_TRIGGER.actorArn,
    },
    {
      case: 'the sweep saw a key inactive',
      finding: () => resolvedFinding('d', 10, 4, { kind: 'sweep', origin: 'schedule' }),
      how: 'deactivated',
      by: 'the KeyWarden sweep',
    },
    {
      case: 'the sweep saw a key gone',
      finding: () => resolvedFinding('e', 10, 4, { kind: 'sweep', origin: 'schedule' }, ['gone', 'Active']),
      how: 'key-deleted',
      by: 'the KeyWarden sweep',
    },
    {
      case: 'the user was deleted',
      finding: () => archivedViolation('f', 10, 4),
      how: 'user-deleted',
      by: null,
    },
  ])('says $how by $by when $case', ({ finding, how, by }) => {
    // Act
    const resolution = resolutionOf(finding());

    // Assess
    expect(resolution).toEqual({ how, by });
  });

  it.each([
    {
      case: 'a person’s deactivation after 6 hours',
      finding: () => resolvedFinding('b', 10, 4, ADMIN_UPDATE),
      hours: 6,
    },
    {
      case: 'KeyWarden’s deactivation after 1 hour',
      finding: () => deactivatedFinding('a', 10, 9),
      hours: 1,
    },
    {
      case: 'the deletion of the user after 6 hours',
      finding: () => archivedViolation('f', 10, 4),
      hours: 6,
    },
  ])('records $case', ({ finding, hours }) => {
    const resolved = resolvedViolationFrom(ACCOUNT.accountId, finding());

    expect(resolved?.hoursToResolve).toBe(hours);
  });

  it.each([
    { case: 'a PASSED finding that resolved nothing', finding: () => plainPassed('g', 4) },
    { case: 'an open violation', finding: () => openViolation('h', 4) },
    { case: 'an exemption', finding: () => exemptFinding('i', iso(-24)) },
  ])('records no resolved violation for $case (the twins)', ({ finding }) => {
    expect(resolvedViolationFrom(ACCOUNT.accountId, finding())).toBeUndefined();
  });
});

describe('resolveTimes', () => {
  const resolved = (hours: (number | null)[]): ResolvedViolation[] =>
    hours.map((hoursToResolve) => ({
      accountId: ACCOUNT.accountId,
      userName: 'u',
      userArn: '',
      findingId: '',
      detectedAt: null,
      resolvedAt: NOW.toISOString(),
      how: 'deactivated',
      by: null,
      hoursToResolve,
    }));

  it.each([
    { hours: [], expected: null },
    { hours: [null], expected: null },
    { hours: [5], expected: { count: 1, medianHours: 5, worstHours: 5 } },
    { hours: [9, 1, 4], expected: { count: 3, medianHours: 4, worstHours: 9 } },
    { hours: [8, 2, null, 4, 1], expected: { count: 4, medianHours: 3, worstHours: 8 } },
  ])('gives $expected for $hours', ({ hours, expected }) => {
    expect(resolveTimes(resolved(hours))).toEqual(expected);
  });
});

describe('openPerDay', () => {
  it('counts a violation open from the day it was detected until the day it was resolved, and open ones to the end', () => {
    // Prepare: 4 days; one resolved inside, one still open since day 3.
    const from = Date.parse('2026-06-27T12:00:00.000Z');
    const resolved = [
      {
        detectedAt: '2026-06-27T20:00:00.000Z',
        resolvedAt: '2026-06-29T08:00:00.000Z',
      } as ResolvedViolation,
    ];
    const open = [{ detectedAt: '2026-06-29T10:00:00.000Z' }, { detectedAt: null }];

    // Act
    const days = openPerDay(open, resolved, from, NOW.getTime());

    // Assess
    expect(days).toEqual([
      { day: '2026-06-27', open: 1 },
      { day: '2026-06-28', open: 1 },
      { day: '2026-06-29', open: 1 },
      { day: '2026-06-30', open: 1 },
    ]);
  });
});

describe('buildEvidenceReport', () => {
  const findings = (): Finding[] => [
    openViolation('alice', 30),
    exemptFinding('dave', '2026-07-15T00:00:00.000Z'),
    deactivatedFinding('bob', 20, 19),
    resolvedFinding('carol', 50, 2, ADMIN_UPDATE),
    resolvedFinding('old', 24 * 40, 24 * 35, ADMIN_UPDATE),
    plainPassed('frank', 5),
    threatFinding('erin', 'AKIAERIN000000000001', 'active', 5),
    threatFinding('erin', 'AKIAERIN000000000002', 'inactive', 10),
    healthFinding('blind'),
  ];
  const users = [
    user('alice', 2),
    user('bob', 1),
    user('carol', 1),
    user('dave', 2),
    user('erin', 1),
    user('frank', 1),
    user('=x,y', 2),
  ];

  it('reports each user’s state now, the share compliant, and a violation no finding reports', () => {
    // Act
    const report = buildEvidenceReport([readAccount(findings(), users)], CONTEXT);

    // Assess
    const [account] = report.accounts;
    expect(account?.users.map((u) => [u.userName, u.state, u.unreported])).toEqual([
      ['alice', 'violating', false],
      ['bob', 'compliant', false],
      ['carol', 'compliant', false],
      ['dave', 'exempt', false],
      ['erin', 'compliant', false],
      ['frank', 'compliant', false],
      ['=x,y', 'violating', true],
    ]);
    expect(account?.summary).toEqual({
      users: 7,
      compliant: 4,
      violating: 2,
      exempt: 1,
      compliantShare: 4 / 7,
    });
    expect(account?.coverage).toBe('blind');
  });

  it('lists open violations with keys and usage, exemptions with who and until when, and resolutions in the period only', () => {
    // Act
    const report = buildEvidenceReport([readAccount(findings(), users)], CONTEXT);

    // Assess
    const [account] = report.accounts;
    expect(account?.openViolations).toEqual([
      expect.objectContaining({
        userName: 'alice',
        detectedAt: iso(30),
        action: 'none',
        keys: [
          expect.objectContaining({
            status: 'Active',
            lastUsedAt: iso(31),
            lastUsedService: 's3',
            lastUsedRegion: 'eu-west-1',
          }),
          expect.objectContaining({ status: 'Active', lastUsedAt: 'never' }),
        ],
      }),
    ]);
    expect(account?.exemptions).toEqual([
      expect.objectContaining({
        userName: 'dave',
        until: '2026-07-15T00:00:00.000Z',
        setBy: expect.stringContaining(EVENT_TRIGGER.actorArn),
      }),
    ]);
    // "old" was resolved 35 days ago: outside the 30-day period.
    expect(account?.resolved.map((r) => [r.userName, r.how, r.hoursToResolve])).toEqual([
      ['bob', 'deactivated-by-keywarden', 1],
      ['carol', 'deactivated', 48],
    ]);
    expect(account?.threats.map((t) => [t.accessKeyId, t.state])).toEqual([
      ['AKIAERIN000000000001', 'open'],
      ['AKIAERIN000000000002', 'resolved'],
    ]);
    expect(report.total).toMatchObject({
      openViolations: 1,
      exemptions: 1,
      resolved: 2,
      resolveTimes: { count: 2, medianHours: 24.5, worstHours: 48 },
      threatsOpen: 1,
      threatsResolved: 1,
      accountsNotCovered: 1,
    });
    expect(report.openPerDay).toHaveLength(31);
    expect(report.openPerDay.at(-1)).toEqual({ day: '2026-06-30', open: 1 });
  });

  it.each([
    { health: 'covered' as const, coverage: 'covered' },
    { health: 'blind' as const, coverage: 'blind' },
    { health: 'unverified' as const, coverage: 'unverified' },
    { health: undefined, coverage: 'not-checked' },
  ])('maps a health finding $health to coverage $coverage', ({ health, coverage }) => {
    const report = buildEvidenceReport([readAccount(health ? [healthFinding(health)] : [], [])], CONTEXT);

    expect(report.accounts[0]?.coverage).toBe(coverage);
  });

  it('keeps an unreadable account in the report with its error, out of the user figures', () => {
    // Act
    const report = buildEvidenceReport(
      [
        readAccount([], [user('a', 1)]),
        {
          accountId: '444455556666',
          name: 'prod',
          via: 'member-role',
          read: { kind: 'unreadable', message: 'AccessDenied' },
        },
      ],
      CONTEXT,
    );

    // Assess
    expect(report.accounts[1]).toMatchObject({
      status: 'unreadable',
      coverage: 'unreadable',
      error: 'AccessDenied',
      summary: null,
    });
    expect(report.total).toMatchObject({
      accounts: 2,
      accountsRead: 1,
      accountsUnreadable: 1,
      users: 1,
      compliantShare: 1,
    });
  });

  it('ignores a finding of another account or generator that the server-side filter let through', () => {
    const foreign = openViolation('mallory', 3, { ...ACCOUNT, accountId: '999999999999' });

    const report = buildEvidenceReport([readAccount([foreign], [])], CONTEXT);

    expect(report.accounts[0]?.openViolations).toEqual([]);
  });
});

describe('renderCsv', () => {
  it.each([
    { value: 'plain', field: '"plain"' },
    { value: 'a,b', field: '"a,b"' },
    { value: 'say "hi"', field: '"say ""hi"""' },
    { value: '=cmd|x', field: `"'=cmd|x"` },
    { value: '+1', field: `"'+1"` },
    { value: '-1', field: `"'-1"` },
    { value: '@sum', field: `"'@sum"` },
    { value: 'a=b', field: '"a=b"' },
    { value: null, field: '""' },
    { value: 2, field: '"2"' },
  ])('quotes $value as $field', ({ value, field }) => {
    expect(csvField(value)).toBe(field);
  });

  it('has one row per user and account that a CSV parser reads back, commas in names included', () => {
    // Prepare
    const report = buildEvidenceReport(
      [
        readAccount([openViolation('alice', 3)], [user('alice', 2), user('x,y@z', 1)]),
        {
          accountId: '444455556666',
          name: 'a, "quoted" name',
          via: 'member-role',
          read: { kind: 'unreadable', message: 'denied' },
        },
      ],
      CONTEXT,
    );

    // Act
    const csv = renderCsv(report);
    const rows = parse(csv, { columns: true }) as Record<string, string>[];

    // Assess
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(rows.map((r) => [r.account_id, r.account_name, r.user_name, r.state, r.active_keys])).toEqual([
      ['123456789012', '', 'alice', 'violating', '2'],
      ['123456789012', '', 'x,y@z', 'compliant', '1'],
      ['444455556666', 'a, "quoted" name', '', 'account-not-read', ''],
    ]);
  });
});

describe('renderHtml', () => {
  it('escapes every character that could open markup', () => {
    expect(escapeHtml(`<img src=x onerror="a">'&`)).toBe('&lt;img src=x onerror=&quot;a&quot;&gt;&#39;&amp;');
  });

  it('escapes what other principals write (a tag value in the exemption reason), and links nothing outside the page', () => {
    // Prepare: the exemption reason carries the tag value the user's tagger chose.
    const hostile = 'tag value <script>alert(1)</script><img src="https://evil.example/x">';
    const report = buildEvidenceReport(
      [
        readAccount(
          [exemptFinding('dave', iso(-24), hostile), openViolation('alice', 3)],
          [user('dave', 2), user('alice', 2)],
        ),
      ],
      CONTEXT,
    );

    // Act
    const html = renderHtml(report);

    // Assess
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<[^>]*\s(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/@import|@font-face/i);
  });

  it('has the sections, semantic tables and both charts', () => {
    const report = buildEvidenceReport(
      [readAccount([openViolation('alice', 30), deactivatedFinding('bob', 20, 19)], [user('alice', 2)])],
      CONTEXT,
    );

    const html = renderHtml(report);

    for (const heading of [
      'Summary',
      'Coverage: accounts not covered or blind',
      'Open violations',
      'Exemptions',
      'Resolved violations in the period',
      'Control mapping and data',
    ])
      expect(html).toContain(`>${heading}</h2>`);
    expect(html).toContain('<caption>');
    expect(html).toContain('<th scope="col">');
    expect(html).toContain('<th scope="row">');
    expect(html).toContain('<title id="open-title">Violations open per day</title>');
    expect(html).toContain('<title id="ttr-title">Time to resolve</title>');
    expect(html).toContain('@page { size: A4;');
    expect(html).toContain('section { break-before: page; }');
  });
});

describe('renderOcsf', () => {
  const findings = (): Finding[] => [
    openViolation('alice', 30),
    exemptFinding('dave', iso(-24)),
    deactivatedFinding('bob', 20, 19),
    threatFinding('erin', 'AKIAERIN000000000001', 'active', 5),
    threatFinding('erin', 'AKIAERIN000000000002', 'inactive', 10),
    healthFinding('blind'),
  ];

  it(`writes one OCSF ${OCSF_VERSION} event a line, each with its class's required attributes`, () => {
    // Act
    const lines = renderOcsf(findings(), { version: '0.1.0', loggedAt: NOW }).trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);

    // Assess: the health finding is not a 1.13 or threat finding, so it is left out.
    expect(events.map((e) => [e.class_uid, e.activity_id, e.type_uid, e.severity_id])).toEqual([
      [2003, 2, 200302, 3],
      [2003, 2, 200302, 2],
      [2003, 3, 200303, 1],
      [2004, 1, 200401, 4],
      [2004, 3, 200403, 4],
    ]);
    for (const event of events) expectOcsfEvent(event);
    expect(events[0]).toMatchObject({
      metadata: { version: OCSF_VERSION, product: { name: 'KeyWarden', vendor_name: 'KeyWarden' } },
      compliance: {
        standards: [
          'CIS AWS Foundations Benchmark v3.0.0',
          'CIS AWS Foundations Benchmark v5.0.0',
          'CIS AWS Foundations Benchmark v6.0.0',
        ],
        control: '1.13',
        status_id: 3,
        status: 'Fail',
        status_code: 'MORE_THAN_ONE_ACTIVE_KEY',
      },
      cloud: { provider: 'AWS', account: { uid: ACCOUNT.accountId } },
    });
    expect(events[3]).toMatchObject({
      finding_info: {
        attacks: [expect.objectContaining({ sub_technique: expect.objectContaining({ uid: 'T1098.001' }) })],
      },
      evidences: [
        {
          actor: { user: { uid: `arn:aws:iam::${ACCOUNT.accountId}:user/admin` } },
          src_endpoint: { ip: '203.0.113.7' },
        },
      ],
    });
  });

  it('exports the open findings and those written in the period, not older resolved ones', () => {
    const old = resolvedFinding('old', 24 * 40, 24 * 35, ADMIN_UPDATE);
    const inputs = [readAccount([openViolation('alice', 24 * 60), old, healthFinding('covered')], [])];

    const reported = reportedFindings(inputs, CONTEXT);

    expect(reported.map((f) => f.Id)).toEqual([openViolation('alice', 1).Id]);
  });
});
