/**
 * `keywarden report` as a process against a moto server of its own, through the counting proxy, over findings made
 * by the real detector and sweep: violations, KeyWarden's deactivation, a person's deactivation and deletion, an
 * exemption, a threat finding, a blind account (trail health FAILED), an account never swept, and one whose member
 * role cannot be assumed. Each format is checked; the HTML is rendered in headless Chromium.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import type { createDetector as CreateDetector } from '../../functions/detector/handler.ts';
import type { EvidenceReport } from '../../functions/evidence/model.ts';
import { OCSF_VERSION } from '../../functions/evidence/ocsf.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { createSweepHandler } from '../../functions/sweep/handler.ts';
import { ADMIN_CALLER, keyEvent } from '../detector/moto-helpers.ts';
import { externalReferences, pngStats, renderPage } from '../support/chromium.ts';
import { MotoAccount } from '../support/moto-accounts.ts';
import {
  ACCOUNT_ID,
  CONTEXT,
  type IsolatedAws,
  type ProcessResult,
  REGION,
  run,
  startIsolatedAws,
} from '../sweep/moto-fixture.ts';
import { expectOcsfEvent } from './ocsf-schema.ts';

const BIN = 'functions/cli/bin.mjs';
const MEMBER = '111122223333';
const LOCKED = '444455556666';
const ROLE = 'KeyWardenMember';
// Within MAX_EXEMPTION_DAYS (default 90) of now: a later end exempts nobody.
const EXEMPT_UNTIL = new Date(Date.now() + 30 * 86_400_000).toISOString();
const DETECTOR_CONTEXT = {
  invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:keywarden-detector`,
  awsRequestId: 'report-test',
};

describe('keywarden report (process, three accounts, findings from the detector and the sweep)', () => {
  let aws: IsolatedAws;
  let work: string;
  const results = new Map<string, ProcessResult>();
  const keywarden = (args: string[]): Promise<ProcessResult> =>
    run('node', [BIN, 'report', ...args], { AWS_ENDPOINT_URL: aws.proxy.endpoint }, 120_000);
  const accounts = ['--accounts', `${ACCOUNT_ID},${MEMBER},${LOCKED}`, '--role-name', ROLE];

  async function createKey(userName: string): Promise<{ id: string; secret: string }> {
    const { AccessKey } = await aws.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { id: AccessKey?.AccessKeyId ?? '', secret: AccessKey?.SecretAccessKey ?? '' };
  }
  async function userWithKeys(userName: string, count: number, tags: Record<string, string> = {}) {
    await aws.iam.send(
      new CreateUserCommand({
        UserName: userName,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    const keys = [];
    for (let i = 0; i < count; i++) keys.push(await createKey(userName));
    return keys;
  }
  /** Signs a request with the key, so IAM records its last use. */
  async function use(key: { id: string; secret: string }): Promise<void> {
    const sts = new STSClient({
      endpoint: aws.moto.endpoint,
      region: REGION,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    await sts.send(new GetCallerIdentityCommand({}));
  }

  beforeAll(async () => {
    aws = await startIsolatedAws();
    work = mkdtempSync(path.join(tmpdir(), 'kw-report-'));
    vi.stubEnv('AWS_ENDPOINT_URL', aws.proxy.endpoint);
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    const { createDetector } = (await import('../../functions/detector/handler.ts')) as {
      createDetector: typeof CreateDetector;
    };
    const logger = createLogger('keywarden-report-test', 'SILENT');
    const detector = (env: Record<string, string> = {}) =>
      createDetector({ config: loadConfig(env), clients: aws.clients(), logger, sleep: async () => {} });
    const detect = detector();
    const remediate = detector({ REMEDIATION_MODE: 'deactivate' });
    const event = (options: Parameters<typeof keyEvent>[0]) => detect(keyEvent(options), DETECTOR_CONTEXT);

    // The sweep runs first, in an account with one compliant user and no trail: the account is blind.
    await userWithKeys('frank', 1);
    await createSweepHandler({
      config: loadConfig({}),
      clients: aws.clients(),
      cloudTrail: aws.cloudTrail(),
      logger,
      sleep: async () => {},
    })({}, CONTEXT);

    // An open violation with usage evidence on its older key.
    const [aliceOld, aliceNew] = await userWithKeys('alice', 2);
    await use(aliceOld as { id: string; secret: string });
    await event({ userName: 'alice', accessKeyId: aliceNew?.id });
    // KeyWarden deactivates.
    const [, bobNew] = await userWithKeys('bob', 2);
    await remediate(keyEvent({ userName: 'bob', accessKeyId: bobNew?.id }), DETECTOR_CONTEXT);
    // A person deactivates, then another deletes.
    const [carolOld, carolNew] = await userWithKeys('carol', 2);
    await event({ userName: 'carol', accessKeyId: carolNew?.id });
    await aws.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'carol', AccessKeyId: carolOld?.id, Status: 'Inactive' }),
    );
    await event({
      eventName: 'UpdateAccessKey',
      userName: 'carol',
      accessKeyId: carolOld?.id,
      status: 'Inactive',
      caller: ADMIN_CALLER,
    });
    const [ginaOld, ginaNew] = await userWithKeys('gina', 2);
    await event({ userName: 'gina', accessKeyId: ginaNew?.id });
    await aws.iam.send(new DeleteAccessKeyCommand({ UserName: 'gina', AccessKeyId: ginaOld?.id }));
    await event({
      eventName: 'DeleteAccessKey',
      userName: 'gina',
      accessKeyId: ginaOld?.id,
      caller: ADMIN_CALLER,
    });
    // An exemption set by a TagUser call KeyWarden saw.
    await userWithKeys('dave', 2, { 'keywarden:exempt': EXEMPT_UNTIL });
    const tagging = keyEvent({ eventName: 'UpdateAccessKey', userName: 'dave', caller: ADMIN_CALLER }) as {
      detail: Record<string, unknown>;
    };
    tagging.detail.eventName = 'TagUser';
    tagging.detail.requestParameters = {
      userName: 'dave',
      tags: [{ key: 'keywarden:exempt', value: EXEMPT_UNTIL }],
    };
    await detect(tagging, DETECTOR_CONTEXT);
    // Another principal mints erin's only key (T1098.001).
    const [erinKey] = await userWithKeys('erin', 1);
    await event({ userName: 'erin', accessKeyId: erinKey?.id, caller: ADMIN_CALLER });
    // A violation no event reported; its name holds a comma and starts like a spreadsheet formula.
    await userWithKeys('=x,y@z', 2);
    // A member account the sweep never ran in, and one whose role cannot be assumed.
    await new MotoAccount(aws.moto.endpoint, MEMBER).userWithKeys('m-two', 2);
    aws.proxy.inject({ operation: 'AssumeRole', status: 403, code: 'AccessDenied', bodyIncludes: LOCKED });

    const htmlFile = path.join(work, 'report.html');
    const [json, csv, ocsf, html] = await Promise.all([
      keywarden([...accounts, '--format', 'json']),
      keywarden([...accounts, '--format', 'csv']),
      keywarden([...accounts, '--format', 'ocsf']),
      keywarden([...accounts, '--format', 'html', '--output', htmlFile]),
    ]);
    results.set('json', json).set('csv', csv).set('ocsf', ocsf).set('html', html);
  }, 300_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    if (work) rmSync(work, { recursive: true, force: true });
    await aws?.stop();
  });

  const result = (format: string): ProcessResult => results.get(format) as ProcessResult;

  it('exits 1 naming the account that could not be read, with progress per account on stderr', () => {
    for (const format of ['json', 'csv', 'ocsf', 'html']) {
      expect(result(format).code, result(format).stderr).toBe(1);
      expect(result(format).stderr).toContain(
        `keywarden: account ${LOCKED} could not be read: Could not assume the member role arn:aws:iam::${LOCKED}:role/${ROLE}`,
      );
    }
    expect(result('json').stderr).toContain(`[${MEMBER}] Assuming arn:aws:iam::${MEMBER}:role/${ROLE}`);
    expect(result('json').stderr).toMatch(
      new RegExp(`\\[${MEMBER}\\] \\d+ finding\\(s\\), 1 user\\(s\\)\\.`),
    );
    expect(result('html').stderr).toMatch(/Wrote the html report to .*report\.html \(\d+ bytes\)/);
  });

  it('JSON: the caller, each account’s figures, and every kind of evidence the findings carry', () => {
    const report = JSON.parse(result('json').stdout) as EvidenceReport;
    const [own, member, locked] = report.accounts;

    expect(report.generatedBy).toMatch(/^arn:aws:(iam|sts)::123456789012:/);
    expect(report.control.mappings).toEqual([
      { version: 'v3.0.0', control: '1.13' },
      { version: 'v5.0.0', control: '1.12' },
      { version: 'v6.0.0', control: '2.12' },
    ]);
    expect(own).toMatchObject({ accountId: ACCOUNT_ID, status: 'read', coverage: 'blind', via: 'own' });
    expect(own?.users.map((u) => [u.userName, u.state, u.unreported]).sort()).toEqual(
      [
        ['=x,y@z', 'violating', true],
        ['alice', 'violating', false],
        ['bob', 'compliant', false],
        ['carol', 'compliant', false],
        ['dave', 'exempt', false],
        ['erin', 'compliant', false],
        ['frank', 'compliant', false],
        ['gina', 'compliant', false],
      ].sort(),
    );
    expect(own?.summary).toMatchObject({ users: 8, compliant: 5, violating: 2, exempt: 1 });
    expect(own?.openViolations).toEqual([
      expect.objectContaining({
        userName: 'alice',
        findingId: findingIdFor(ACCOUNT_ID, 'alice'),
        keys: expect.arrayContaining([
          expect.objectContaining({
            lastUsedAt: expect.stringMatching(/^\d{4}-/),
            lastUsedService: 'sts',
            lastUsedRegion: REGION,
          }),
        ]),
      }),
    ]);
    expect(own?.exemptions).toEqual([
      expect.objectContaining({
        userName: 'dave',
        until: EXEMPT_UNTIL,
        setBy: expect.stringContaining(ADMIN_CALLER.arn),
      }),
    ]);
    const resolved = Object.fromEntries((own?.resolved ?? []).map((r) => [r.userName, r]));
    expect(resolved.bob).toMatchObject({ how: 'deactivated-by-keywarden', by: 'KeyWarden' });
    expect(resolved.carol).toMatchObject({ how: 'deactivated', by: ADMIN_CALLER.arn });
    expect(resolved.gina).toMatchObject({ how: 'key-deleted', by: ADMIN_CALLER.arn });
    for (const r of Object.values(resolved)) expect(r.hoursToResolve).toBeGreaterThanOrEqual(0);
    expect(report.total.resolveTimes?.count).toBe(3);
    expect(own?.threats).toEqual([
      expect.objectContaining({ userName: 'erin', state: 'open', actorArn: ADMIN_CALLER.arn }),
    ]);
    expect(member).toMatchObject({
      accountId: MEMBER,
      via: 'member-role',
      status: 'read',
      coverage: 'not-checked',
    });
    expect(member?.users).toEqual([
      expect.objectContaining({ userName: 'm-two', state: 'violating', unreported: true }),
    ]);
    expect(locked).toMatchObject({ accountId: LOCKED, status: 'unreadable', coverage: 'unreadable' });
    expect(report.total).toMatchObject({
      accounts: 3,
      accountsRead: 2,
      accountsUnreadable: 1,
      accountsNotCovered: 3,
      users: 9,
    });
  });

  it('CSV: one row per user and account, read back by a CSV parser', () => {
    const rows = parse(result('csv').stdout, { columns: true }) as Record<string, string>[];

    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.account_id === ACCOUNT_ID)).toHaveLength(8);
    expect(rows.find((r) => r.user_name === "'=x,y@z")).toMatchObject({
      state: 'violating',
      violation_without_open_finding: 'true',
    });
    expect(rows.find((r) => r.user_name === 'dave')).toMatchObject({
      state: 'exempt',
      exempt_until: EXEMPT_UNTIL,
    });
    expect(rows.find((r) => r.account_id === LOCKED)).toMatchObject({
      state: 'account-not-read',
      user_name: '',
    });
  });

  it(`OCSF: a Compliance Finding per 1.13 finding and a Detection Finding per threat finding, each valid ${OCSF_VERSION}`, () => {
    const events = result('ocsf')
      .stdout.trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

    for (const event of events) expectOcsfEvent(event);
    const byClass = (uid: number) => events.filter((e) => e.class_uid === uid);
    expect(
      byClass(2003)
        .map((e) => (e.finding_info as { uid: string }).uid)
        .sort(),
    ).toEqual(['alice', 'bob', 'carol', 'dave', 'gina'].map((u) => findingIdFor(ACCOUNT_ID, u)).sort());
    expect(byClass(2004)).toHaveLength(1);
    expect(events).toHaveLength(6);
  });

  it('HTML: rendered by headless Chromium offline, with the headings, rows and charts, and no external URL', async () => {
    const file = path.join(work, 'report.html');
    const html = readFileSync(file, 'utf8');

    const { png, dom } = await renderPage(file);

    const stats = pngStats(png);
    expect(stats.width).toBe(1200);
    expect(stats.inkShare).toBeGreaterThan(0.02);
    expect(stats.distinctColours).toBeGreaterThan(8);
    for (const heading of [
      'Summary',
      'Coverage: accounts not covered or blind',
      'Open violations',
      'Exemptions',
      'Resolved violations in the period',
      'Keys made usable by another principal (MITRE ATT&amp;CK T1098.001)',
      'Control mapping and data',
    ])
      expect(dom).toContain(`>${heading}</h2>`);
    expect(dom.match(/<svg /g)).toHaveLength(2);
    expect(dom).toContain('<title id="open-title">Violations open per day</title>');
    expect(dom).toMatch(/<th scope="row"><code>alice<\/code><\/th>/);
    expect(dom).toMatch(/<th scope="row"><code>=x,y@z<\/code><\/th>/);
    expect(dom).not.toContain('<script');
    expect(externalReferences(dom)).toEqual([]);
    expect(externalReferences(html)).toEqual([]);
  }, 120_000);
});
