/** `keywarden coverage`'s pure rows: each check's verdict beside its failing twin, the account's verdict, the output. */

import { describe, expect, it } from 'vitest';
import {
  type AccountCoverageInput,
  buildCoverageReport,
  coverageRow,
  exitCodeForCoverage,
  renderCoverageJson,
  renderCoverageTable,
} from '../../functions/cli/coverage-report.ts';
import type { ForwardingRuleObservation } from '../../functions/core/coverage.ts';
import type { TrailObservation } from '../../functions/core/trail-health.ts';
import { evaluateTrailHealth } from '../../functions/core/trail-health.ts';
import { KEY_EVENT_PATTERN } from '../../functions/shared/constants.ts';

const CALLER = '123456789012';
const MEMBER = '111122223333';
const BUS = `arn:aws:events:us-east-1:${CALLER}:event-bus/keywarden-organization`;
const NOW = new Date('2026-03-02T12:00:00.000Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);

const rule = (overrides: Partial<ForwardingRuleObservation> = {}): ForwardingRuleObservation => ({
  arn: `arn:aws:events:us-east-1:${MEMBER}:rule/keywarden-forward-key-events`,
  state: 'ENABLED',
  eventPattern: JSON.stringify(KEY_EVENT_PATTERN),
  targetArns: [BUS],
  ...overrides,
});

const trail = (overrides: Partial<TrailObservation> = {}): TrailObservation => ({
  name: 'management',
  arn: `arn:aws:cloudtrail:us-east-1:${CALLER}:trail/management`,
  homeRegion: 'us-east-1',
  isMultiRegion: true,
  isOrganizationTrail: false,
  includeGlobalServiceEvents: true,
  status: { ok: true, value: { isLogging: true } },
  selectors: { ok: true, value: { basic: [{ readWriteType: 'All' }], advanced: [] } },
  ...overrides,
});

const trails = (...observed: TrailObservation[]) =>
  ({ ok: true, value: evaluateTrailHealth(observed, CALLER, 'us-east-1') }) as const;

/** A member whose rule is intact, with the caller's own trail logging. */
const member = (overrides: Partial<AccountCoverageInput> = {}): AccountCoverageInput => ({
  accountId: MEMBER,
  name: 'workloads',
  via: 'member-role',
  coverage: { role: { ok: true, value: true }, rule: { ok: true, value: rule() } },
  callerTrails: trails(trail()),
  canary: undefined,
  ...overrides,
});

const own = (overrides: Partial<AccountCoverageInput> = {}): AccountCoverageInput => ({
  ...member({
    accountId: CALLER,
    name: undefined,
    via: 'own',
    coverage: { role: { ok: true, value: true } },
  }),
  ...overrides,
});

// An explicit `undefined` is the command run without --bus (a default parameter would replace it).
const row = (input: AccountCoverageInput, context: { busArn: string | undefined } = { busArn: BUS }) =>
  coverageRow(input, { ...context, now: NOW });

describe('coverageRow: the member role', () => {
  it.each([
    { name: 'own account', input: own(), status: 'ok', detail: "own account: the caller's credentials" },
    { name: 'member role assumed', input: member(), status: 'ok', detail: 'assumed' },
    {
      name: 'member role refused',
      input: member({ coverage: { role: { ok: false, code: 'AccessDenied', message: 'not trusted' } } }),
      status: 'failed',
      detail: 'could not be assumed (AccessDenied: not trusted)',
    },
  ])('$name: $status', ({ input, status, detail }) => {
    expect(row(input).role).toEqual({ status, detail });
    expect(row(input).covered).toBe(status !== 'failed');
  });
});

describe('coverageRow: the forwarding rule, judged as the sweep judges it', () => {
  it.each([
    {
      name: 'intact',
      observed: rule(),
      bus: BUS,
      status: 'ok',
      detail: /^ENABLED, the detector's pattern, targets the central bus$/,
    },
    {
      name: 'disabled',
      observed: rule({ state: 'DISABLED' }),
      bus: BUS,
      status: 'failed',
      detail: /keywarden-forward-key-events is DISABLED/,
    },
    { name: 'missing', observed: undefined, bus: BUS, status: 'failed', detail: /does not exist/ },
    {
      name: 'pattern changed',
      observed: rule({ eventPattern: '{"source":["aws.s3"]}' }),
      bus: BUS,
      status: 'failed',
      detail: /no longer matches the detector's events/,
    },
    {
      name: 'retargeted, with --bus',
      observed: rule({ targetArns: ['arn:aws:events:us-east-1:999999999999:event-bus/elsewhere'] }),
      bus: BUS,
      status: 'failed',
      detail:
        /does not target the central bus .* \(targets: arn:aws:events:us-east-1:999999999999:event-bus\/elsewhere\)/,
    },
    {
      name: 'retargeted, without --bus',
      observed: rule({ targetArns: ['arn:aws:events:us-east-1:999999999999:event-bus/elsewhere'] }),
      bus: undefined,
      status: 'ok',
      detail:
        /targets arn:aws:events:us-east-1:999999999999:event-bus\/elsewhere; target not judged \(no --bus\)$/,
    },
    {
      name: 'disabled, without --bus',
      observed: rule({ state: 'DISABLED' }),
      bus: undefined,
      status: 'failed',
      detail: /is DISABLED; target not judged \(no --bus\)$/,
    },
  ])('$name: $status', ({ observed, bus, status, detail }) => {
    const checked = row(
      member({ coverage: { role: { ok: true, value: true }, rule: { ok: true, value: observed } } }),
      { busArn: bus },
    );

    expect(checked.forwardingRule.status).toBe(status);
    expect(checked.forwardingRule.detail).toMatch(detail);
    expect(checked.covered).toBe(status !== 'failed');
  });

  it.each([
    {
      name: 'unreadable rule: FAILED',
      input: member({
        coverage: {
          role: { ok: true, value: true },
          rule: { ok: false, code: 'AccessDeniedException', message: 'no' },
        },
      }),
      expected: {
        status: 'failed',
        detail: expect.stringContaining('could not be read (AccessDeniedException: no)'),
      },
    },
    {
      name: 'role refused: the rule is not read',
      input: member({ coverage: { role: { ok: false, code: 'AccessDenied', message: 'no' } } }),
      expected: { status: 'not-judged', detail: 'not read: the member role could not be assumed' },
    },
    {
      name: 'own account, not the central one (--bus names another account): not read, and said why',
      input: own(),
      busArn: 'arn:aws:events:us-east-1:999988887777:event-bus/keywarden-organization',
      expected: {
        status: 'not-judged',
        detail:
          'not read: the central bus is in account 999988887777; run the command there to check this account through its member role',
      },
    },
    {
      name: 'own account: no rule needed',
      input: own(),
      expected: {
        status: 'not-judged',
        detail: expect.stringContaining("none needed: the caller's own account"),
      },
    },
  ])('$name', ({ input, expected, busArn = BUS }) => {
    expect(row(input, { busArn }).forwardingRule).toEqual(expected);
  });
});

describe('coverageRow: the trail', () => {
  const organizationTrail = trail({
    arn: `arn:aws:cloudtrail:us-east-1:${CALLER}:trail/organization`,
    isOrganizationTrail: true,
  });
  it.each([
    {
      name: 'own, a trail logs IAM writes',
      input: own(),
      status: 'ok',
      detail: /trail\/management delivers them/,
    },
    {
      name: 'own, the trail stopped logging',
      input: own({ callerTrails: trails(trail({ status: { ok: true, value: { isLogging: false } } })) }),
      status: 'failed',
      detail: /no trail delivers IAM's management write events: .*trail\/management is not logging/,
    },
    {
      name: 'own, no trail at all',
      input: own({ callerTrails: trails() }),
      status: 'failed',
      detail: /^no trail delivers/,
    },
    {
      name: 'own, the trails could not be listed',
      input: own({ callerTrails: { ok: false, code: 'AccessDeniedException', message: 'denied' } }),
      status: 'failed',
      detail: /could not be read \(AccessDeniedException: denied\)/,
    },
    {
      name: 'member, covered by the caller’s organization trail',
      input: member({ callerTrails: trails(organizationTrail) }),
      status: 'ok',
      detail: /the organization trail .*trail\/organization covers it/,
    },
    {
      name: 'member, the caller has only an account trail',
      input: member(),
      status: 'not-judged',
      detail: /not read: the member role grants no CloudTrail read/,
    },
  ])('$name: $status', ({ input, status, detail }) => {
    expect(row(input).trail.status).toBe(status);
    expect(row(input).trail.detail).toMatch(detail);
  });
});

describe('coverageRow: the canary ledger', () => {
  const record = (fields: Record<string, unknown>) =>
    ({ ok: true, value: { accountId: MEMBER, ...fields } }) as AccountCoverageInput['canary'];
  it.each([
    {
      name: 'no --canary-table',
      canary: undefined,
      status: 'not-judged',
      detail: /not read \(no --canary-table\)/,
      times: [null, null, null],
    },
    {
      name: 'none sent yet',
      canary: record({}),
      status: 'not-judged',
      detail: /none sent yet/,
      times: [null, null, null],
    },
    {
      name: 'sent and received',
      canary: record({
        sentAt: minutesAgo(60),
        receivedSentAt: minutesAgo(60),
        receivedAt: new Date(minutesAgo(60).getTime() + 4200),
        delayMs: 4200,
      }),
      status: 'ok',
      detail: /received .*, 4\.2 s after it was sent/,
      times: [minutesAgo(60).toISOString(), new Date(minutesAgo(60).getTime() + 4200).toISOString(), 4200],
    },
    {
      name: 'sent an hour ago, never received',
      canary: record({ sentAt: minutesAgo(60) }),
      status: 'failed',
      detail: new RegExp(`last canary sent ${minutesAgo(60).toISOString()}, never received`),
      times: [minutesAgo(60).toISOString(), null, null],
    },
    {
      name: 'sent 5 minutes ago, not received yet',
      canary: record({ sentAt: minutesAgo(5) }),
      status: 'not-judged',
      detail: /not received yet \(judged 15 min after sending\)/,
      times: [minutesAgo(5).toISOString(), null, null],
    },
    {
      name: 'an older canary received, the last one lost',
      canary: record({
        sentAt: minutesAgo(60),
        receivedSentAt: minutesAgo(120),
        receivedAt: minutesAgo(119),
        delayMs: 60_000,
      }),
      status: 'failed',
      detail: /never received/,
      times: [minutesAgo(60).toISOString(), minutesAgo(119).toISOString(), 60_000],
    },
    {
      name: 'the ledger could not be read',
      canary: { ok: false, code: 'AccessDeniedException', message: 'denied' } as const,
      status: 'failed',
      detail: /the ledger could not be read \(AccessDeniedException: denied\)/,
      times: [null, null, null],
    },
  ])('$name: $status', ({ canary, status, detail, times }) => {
    const { canary: checked, covered } = row(member({ canary }));

    expect(checked.status).toBe(status);
    expect(checked.detail).toMatch(detail);
    expect([checked.sentAt, checked.receivedAt, checked.delayMs]).toEqual(times);
    expect(covered).toBe(status !== 'failed');
  });
});

describe('the report', () => {
  const caller = { accountId: CALLER, partition: 'aws', region: 'us-east-1' };
  const members = { from: 'accounts', accountIds: [CALLER, MEMBER], roleName: 'KeyWardenMember' } as const;
  const build = (inputs: AccountCoverageInput[]) =>
    buildCoverageReport(
      inputs.map((input) => row(input)),
      { caller, members, busArn: BUS, canaryTable: undefined, checkedAt: NOW, version: '0.1.0' },
    );

  it.each([
    { name: 'every account covered', inputs: [own(), member()], code: 0, notCovered: 0 },
    {
      name: 'one member’s rule disabled',
      inputs: [
        own(),
        member({
          coverage: {
            role: { ok: true, value: true },
            rule: { ok: true, value: rule({ state: 'DISABLED' }) },
          },
        }),
      ],
      code: 1,
      notCovered: 1,
    },
  ])('$name: exit $code', ({ inputs, code, notCovered }) => {
    const report = build(inputs);

    expect(exitCodeForCoverage(report)).toBe(code);
    expect(report.summary).toEqual({ accounts: 2, covered: 2 - notCovered, notCovered });
  });

  it('has stable JSON keys', () => {
    const json = JSON.parse(renderCoverageJson(build([member()])));

    expect(Object.keys(json)).toEqual([
      'version',
      'checkedAt',
      'caller',
      'accountsFrom',
      'organizationalUnits',
      'roleName',
      'busArn',
      'canaryTable',
      'accounts',
      'summary',
    ]);
    expect(Object.keys(json.accounts[0])).toEqual([
      'accountId',
      'name',
      'via',
      'covered',
      'role',
      'forwardingRule',
      'trail',
      'canary',
    ]);
    expect(Object.keys(json.accounts[0].canary)).toEqual([
      'status',
      'detail',
      'sentAt',
      'receivedAt',
      'delayMs',
    ]);
  });

  it('renders a summary line per account, a block with the details, and names the accounts not covered', () => {
    const text = renderCoverageTable(
      build([
        own(),
        member({ coverage: { role: { ok: true, value: true }, rule: { ok: true, value: undefined } } }),
      ]),
    );

    expect(text).toMatch(new RegExp(`^${MEMBER} \\(workloads\\) +NO +ok +FAILED +- +-$`, 'm'));
    expect(text).toMatch(new RegExp(`^${CALLER} +yes +ok +- +ok +-$`, 'm'));
    expect(text).toContain(`=== Account ${MEMBER} · NOT COVERED`);
    expect(text).toContain(
      '  forwarding rule  FAILED: the forwarding rule keywarden-forward-key-events does not exist',
    );
    expect(text).toContain(`2 accounts: 1 not covered (${MEMBER}).`);
  });
});
