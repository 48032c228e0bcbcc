/**
 * The real detector (the exported `handler`, and `createDetector` for other settings) against moto server,
 * through the counting proxy.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import { parseKeyEvent } from '../../functions/core/event.ts';
import { findingIdFor } from '../../functions/core/finding.ts';
import type { createDetector as CreateDetector, DetectorResult } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import { keyEvent, LAMBDA_CONTEXT, MotoAdmin, pointSdkAt, recordImports } from './moto-helpers.ts';

type Handler = (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<DetectorResult>;

let proxy: AwsProxy;
let moto: MotoAdmin;
/** The module's exported handler, loaded with the default configuration (REMEDIATION_MODE unset: off). */
let handler: Handler;
let createDetector: typeof CreateDetector;
let sent: { findings: unknown[] };
/** What reached AWS while the handler module loaded (its init). */
let callsAtInit: string[];

const FIELD = 'keywarden/detector';

beforeAll(async () => {
  const endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
  // Security Hub answers a GetFindings by Id with those findings alone; moto pages through every finding the
  // whole run stored, which would make the counts depend on the other test files.
  proxy = await startAwsProxy(endpoint, { filterFindingsById: true });
  pointSdkAt(proxy.endpoint);
  // The handler module reads its configuration and builds its clients at load, so the environment comes first.
  const module = await import('../../functions/detector/handler.ts');
  callsAtInit = proxy.calls.map((call) => `${call.service}.${call.operation}`);
  // An EventBridge event gets the detector's own result (an SQS batch would get batch item failures).
  handler = module.handler as Handler;
  createDetector = module.createDetector;
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.close();
});

beforeEach(() => {
  proxy.reset();
  proxy.clearFaults();
  sent = recordImports();
});

afterEach(() => {
  // Every finding the detector produced in the test must be valid ASFF.
  for (const finding of sent.findings) expectValidAsff(finding as never);
  vi.restoreAllMocks();
});

/** A detector with other settings, over fresh production clients pointed at the proxy. */
function detector(env: Record<string, string>, logger = createLogger('keywarden-detector-test')): Handler {
  return createDetector({ config: loadConfig(env), clients: createClients(), logger, sleep: async () => {} });
}

const writes = () => proxy.count('iam.UpdateAccessKey');

describe('detector handler against moto', () => {
  describe('with the default configuration (detect only)', () => {
    it('reports a second active key as FAILED, ACTIVE, with both keys and their last use', async () => {
      const userName = moto.uniqueName('kw-det-violation');
      const [oldKey, newKey] = await moto.pair(userName);
      await moto.use(oldKey);

      const result = await handler(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);

      expect(result).toEqual({
        status: 'evaluated',
        userName,
        verdict: 'violation',
        action: 'none',
        findingId: findingIdFor('123456789012', userName),
        findingImported: true,
      });
      const finding = await moto.findingOf(userName);
      expectValidAsff(finding);
      expect(finding.Compliance?.Status).toBe('FAILED');
      expect(finding.RecordState).toBe('ACTIVE');
      expect(finding.Title).toBe(`IAM user ${userName} has 2 active access keys (CIS 1.13 allows one)`);
      expect(finding.Description).toContain(`Keep ${newKey.id} because it is the newest active key`);
      expect(finding.Resources?.map((r) => [r.Type, r.Id])).toEqual([
        ['AwsIamUser', `arn:aws:iam::123456789012:user/${userName}`],
        ['AwsIamAccessKey', `AWS::IAM::AccessKey:${oldKey.id}`],
        ['AwsIamAccessKey', `AWS::IAM::AccessKey:${newKey.id}`],
      ]);
      expect(finding.Resources?.slice(1).map((r) => r.Details?.AwsIamAccessKey?.Status)).toEqual([
        'Active',
        'Active',
      ]);
      expect(finding.ProductFields).toMatchObject({
        [`${FIELD}/key1/accessKeyId`]: oldKey.id,
        [`${FIELD}/key1/lastUsedService`]: 'sts',
        [`${FIELD}/key1/lastUsedRegion`]: 'us-east-1',
        [`${FIELD}/key2/accessKeyId`]: newKey.id,
        [`${FIELD}/key2/lastUsedDate`]: 'never',
        [`${FIELD}/trigger/eventName`]: 'CreateAccessKey',
      });
      expect(finding.ProductFields?.[`${FIELD}/key1/lastUsedDate`]).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(writes()).toBe(0);
      expect(sent.findings).toEqual([finding]);
    });

    it('turns the same finding PASSED when a key is deleted', async () => {
      const userName = moto.uniqueName('kw-det-deleted-key');
      const [oldKey, newKey] = await moto.pair(userName);
      await handler(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);
      const failed = await moto.findingOf(userName);

      await moto.deleteKey(userName, oldKey.id);
      const result = await handler(
        keyEvent({ eventName: 'DeleteAccessKey', userName, accessKeyId: oldKey.id }),
        LAMBDA_CONTEXT,
      );

      expect(result).toMatchObject({ verdict: 'compliant', action: 'none' });
      const passed = await moto.findingOf(userName);
      expect(passed.Id).toBe(failed.Id);
      expect(passed.Compliance?.Status).toBe('PASSED');
      expect(passed.RecordState).toBe('ACTIVE');
      expect(Date.parse(passed.UpdatedAt ?? '')).toBeGreaterThan(Date.parse(failed.UpdatedAt ?? ''));
    });

    it('archives the finding when the user is deleted', async () => {
      const userName = moto.uniqueName('kw-det-deleted-user');
      const [, newKey] = await moto.pair(userName);
      await handler(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);

      await moto.deleteUser(userName);
      const result = await handler(
        keyEvent({ eventName: 'DeleteAccessKey', userName, accessKeyId: newKey.id }),
        LAMBDA_CONTEXT,
      );

      expect(result).toMatchObject({ verdict: 'user-gone', action: 'none' });
      const archived = await moto.findingOf(userName);
      expect(archived.RecordState).toBe('ARCHIVED');
      expect(archived.Compliance?.Status).toBe('PASSED');
      expect(archived.Title).toBe(`IAM user ${userName} was deleted (CIS 1.13 finding archived)`);
    });

    it('writes nothing for a deleted user it never reported', async () => {
      const userName = moto.uniqueName('kw-det-never-seen');

      const result = await handler(
        keyEvent({ eventName: 'DeleteAccessKey', userName, accessKeyId: 'AKIAGONE0000000000000' }),
        LAMBDA_CONTEXT,
      );

      expect(result).toMatchObject({ verdict: 'user-gone' });
      expect(proxy.count('BatchImportFindings')).toBe(0);
      expect(await moto.findingsOf(userName)).toEqual([]);
    });

    it('handles a user with a path and a name using +=,.@_-', async () => {
      const userName = moto.uniqueName('kw+=,.@_-det');
      const [, newKey] = await moto.pair(userName, { path: '/division/team-a/' });

      const result = await handler(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);

      expect(result).toMatchObject({ verdict: 'violation', userName });
      const finding = await moto.findingOf(userName);
      expect(finding.Id).toBe(`keywarden/cis-1.13/123456789012/${userName.toLowerCase()}`);
      expect(finding.Resources?.[0]?.Id).toBe(`arn:aws:iam::123456789012:user/division/team-a/${userName}`);
      expect(finding.Resources?.[0]?.Details?.AwsIamUser?.Path).toBe('/division/team-a/');
    });

    it('targets the caller when the IAM user created its own key without userName', async () => {
      const userName = moto.uniqueName('kw-det-self');
      const firstKey = await moto.single(userName);
      const ownKey = await moto.createOwnKey(firstKey);
      expect(ownKey.userName).toBe(userName);
      const event = keyEvent({
        userName,
        accessKeyId: ownKey.id,
        omitUserName: true,
        caller: { type: 'IAMUser', userName, arn: `arn:aws:iam::123456789012:user/${userName}` },
      });

      const result = await handler(event, LAMBDA_CONTEXT);

      expect(result).toMatchObject({ status: 'evaluated', userName, verdict: 'violation' });
      expect((await moto.findingOf(userName)).Compliance?.Status).toBe('FAILED');
    });

    it('makes no AWS call at init, where it builds and prepares its clients', () => {
      expect(callsAtInit).toEqual([]);
    });

    it('skips a failed call, another account and a mismatched envelope without any AWS call', async () => {
      const userName = moto.uniqueName('kw-det-skip');
      const failed = keyEvent({
        userName,
        accessKeyId: 'AKIAFAILED0000000000',
        errorCode: 'LimitExceededException',
      });
      const base = keyEvent({ userName, accessKeyId: 'AKIAFOREIGN000000000' });
      const foreign = {
        ...base,
        account: '210987654321',
        detail: { ...(base.detail as object), recipientAccountId: '210987654321' },
      };
      const mismatched = { ...base, account: '210987654321' };

      expect(await handler(failed, LAMBDA_CONTEXT)).toMatchObject({
        status: 'skipped',
        reason: 'failed-call',
      });
      expect(await handler(foreign, LAMBDA_CONTEXT)).toMatchObject({
        status: 'skipped',
        reason: 'other-account',
      });
      expect(await handler(mismatched, LAMBDA_CONTEXT)).toMatchObject({
        status: 'skipped',
        reason: 'account-mismatch',
      });
      expect(proxy.count()).toBe(0);
    });

    it('finds its account with STS once when run without a Lambda context', async () => {
      const userName = moto.uniqueName('kw-det-local');
      const [, key] = await moto.userWithKeys(userName, 2);
      if (key === undefined) throw new Error('no key created');
      const run = detector({});

      await run(keyEvent({ userName, accessKeyId: key.id }));
      await run(keyEvent({ userName, accessKeyId: key.id }));

      expect(proxy.count('sts.GetCallerIdentity')).toBe(1);
      expect((await moto.findingOf(userName)).ProductArn).toBe(
        'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default',
      );
    });

    it('rejects a malformed event with InvalidEventError, never a TypeError', async () => {
      await expect(handler(null, LAMBDA_CONTEXT)).rejects.toMatchObject({ name: 'InvalidEventError' });
      await expect(handler({ detail: [] }, LAMBDA_CONTEXT)).rejects.toMatchObject({
        name: 'InvalidEventError',
      });
      expect(proxy.count()).toBe(0);
    });
  });

  describe('the exported handler with a bad configuration', () => {
    it('fails the cold start naming the variable, the value and the allowed values', async () => {
      vi.resetModules();
      vi.stubEnv('KEEP_KEY', 'youngest');

      await expect(import('../../functions/detector/handler.ts')).rejects.toThrow(
        'KEEP_KEY="youngest" is not allowed; use one of: newest, oldest, last-used, auto',
      );
      vi.stubEnv('KEEP_KEY', undefined);
    });
  });

  describe('the exported handler loaded with REMEDIATION_MODE=deactivate', () => {
    it('fixes the violation: PASSED, naming the key deactivated, when, why, and how to re-activate it', async () => {
      vi.resetModules();
      vi.stubEnv('REMEDIATION_MODE', 'deactivate');
      const { handler: deactivating } = await import('../../functions/detector/handler.ts');
      const userName = moto.uniqueName('kw-det-fix');
      const [oldKey, newKey] = await moto.pair(userName);

      const result = await deactivating(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);

      expect(result).toMatchObject({ verdict: 'violation', action: 'deactivated' });
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Inactive', [newKey.id]: 'Active' });
      const finding = await moto.findingOf(userName);
      const reactivate = `aws iam update-access-key --user-name ${userName} --access-key-id ${oldKey.id} --status Active`;
      expect(finding.Compliance?.Status).toBe('PASSED');
      expect(finding.Title).toBe(
        `KeyWarden deactivated access key ${oldKey.id} of IAM user ${userName} (CIS 1.13)`,
      );
      expect(finding.Description).toMatch(
        new RegExp(
          `deactivated ${oldKey.id} at \\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z and kept ${newKey.id} because it is the newest`,
        ),
      );
      expect(finding.Description).toContain(`To re-activate: ${reactivate}`);
      expect(finding.ProductFields?.[`${FIELD}/reactivateCommand`]).toBe(reactivate);
      expect(writes()).toBe(1);
      vi.stubEnv('REMEDIATION_MODE', undefined);
    });
  });

  describe('with remediation settings', () => {
    it.each([
      { keepKey: 'newest', used: 'none', kept: 'new' },
      { keepKey: 'oldest', used: 'none', kept: 'old' },
      { keepKey: 'last-used', used: 'old', kept: 'old' },
      { keepKey: 'last-used', used: 'new', kept: 'new' },
      { keepKey: 'last-used', used: 'none', kept: 'new' },
    ] as const)(
      'KEEP_KEY=$keepKey keeps the $kept key when the $used key was used',
      async ({ keepKey, used, kept }) => {
        const userName = moto.uniqueName(`kw-det-keep-${keepKey}`);
        const [oldKey, newKey] = await moto.pair(userName);
        if (used === 'old') await moto.use(oldKey);
        if (used === 'new') await moto.use(newKey);
        const keep = kept === 'old' ? oldKey : newKey;
        const off = kept === 'old' ? newKey : oldKey;

        const result = await detector({ REMEDIATION_MODE: 'deactivate', KEEP_KEY: keepKey })(
          keyEvent({ userName, accessKeyId: newKey.id }),
          LAMBDA_CONTEXT,
        );

        expect(result).toMatchObject({ verdict: 'violation', action: 'deactivated' });
        expect(await moto.statusOf(userName)).toEqual({ [keep.id]: 'Active', [off.id]: 'Inactive' });
        expect((await moto.findingOf(userName)).ProductFields?.[`${FIELD}/deactivatedKeys`]).toBe(off.id);
        expect(writes()).toBe(1);
      },
    );

    it('in dry-run keeps FAILED, says what it would do, and writes nothing to IAM', async () => {
      const userName = moto.uniqueName('kw-det-dry');
      const [oldKey, newKey] = await moto.pair(userName);

      const result = await detector({ REMEDIATION_MODE: 'dry-run' })(
        keyEvent({ userName, accessKeyId: newKey.id }),
        LAMBDA_CONTEXT,
      );

      expect(result).toMatchObject({ verdict: 'violation', action: 'dry-run' });
      const finding = await moto.findingOf(userName);
      expect(finding.Compliance?.Status).toBe('FAILED');
      expect(finding.Description).toContain(`Dry run: KeyWarden would deactivate ${oldKey.id}`);
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [newKey.id]: 'Active' });
      expect(writes()).toBe(0);
    });

    it('reports an exempt user as WARNING with the reason and never touches its keys', async () => {
      const userName = moto.uniqueName('kw-det-exempt');
      const [oldKey, newKey] = await moto.pair(userName, {
        tags: { 'keywarden:exempt': 'True' },
      });

      const result = await detector({ REMEDIATION_MODE: 'deactivate' })(
        keyEvent({ userName, accessKeyId: newKey.id }),
        LAMBDA_CONTEXT,
      );

      expect(result).toMatchObject({ verdict: 'exempt', action: 'none' });
      const finding = await moto.findingOf(userName);
      expect(finding.Compliance?.Status).toBe('WARNING');
      expect(finding.Compliance?.StatusReasons?.[0]?.Description).toContain('keywarden:exempt=true');
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [newKey.id]: 'Active' });
      expect(writes()).toBe(0);
    });

    it("makes no IAM call for the UpdateAccessKey event its own role's session causes, whatever the user agent", async () => {
      const role = 'arn:aws:iam::123456789012:role/keywarden-detector';
      const userName = moto.uniqueName('kw-det-own');
      const [oldKey, newKey] = await moto.pair(userName);
      const run = createDetector({
        config: loadConfig({ REMEDIATION_MODE: 'deactivate', OWN_ROLE_ARNS: role }),
        clients: createClients(),
        logger: createLogger('keywarden-detector-test'),
      });
      await run(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);
      const echo = (userAgent: string) =>
        keyEvent({
          eventName: 'UpdateAccessKey',
          userName,
          accessKeyId: oldKey.id,
          status: 'Inactive',
          userAgent,
          caller: {
            type: 'AssumedRole',
            arn: 'arn:aws:sts::123456789012:assumed-role/keywarden-detector/fn',
            issuerArn: role,
          },
        });
      // The parser no longer knows who is "us": only the handler does, from the role.
      expect(parseKeyEvent(echo('aws-cli/2.15.0'))).toMatchObject({ kind: 'target' });

      for (const userAgent of ['aws-cli/2.15.0', 'keywarden/0.1.0']) {
        proxy.reset();
        const result = await run(echo(userAgent), LAMBDA_CONTEXT);
        expect(result).toMatchObject({ status: 'skipped', reason: 'own-remediation' });
        expect(proxy.countsByOperation()).toEqual({ 'securityhub.GetFindings': 1 });
      }
    });

    it('leaves one finding and one deactivation when the same event arrives 5 times', async () => {
      const userName = moto.uniqueName('kw-det-dup');
      const [oldKey, newKey] = await moto.pair(userName);
      const event = keyEvent({ userName, accessKeyId: newKey.id });
      const run = detector({ REMEDIATION_MODE: 'deactivate', KEEP_KEY: 'oldest' });

      const results: DetectorResult[] = [];
      for (let i = 0; i < 5; i++) results.push(await run(event, LAMBDA_CONTEXT));

      expect(results.map((r) => (r.status === 'evaluated' ? r.action : r.status))).toEqual([
        'deactivated',
        'none',
        'none',
        'none',
        'none',
      ]);
      expect(writes()).toBe(1);
      // The duplicates find the created key listed (inactive now) and do not wait for it to become active.
      expect(proxy.count('iam.ListAccessKeys')).toBe(2 + 4);
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [newKey.id]: 'Inactive' });
      const findings = await moto.findingsOf(userName);
      expect(findings.map((f) => f.Compliance?.Status)).toEqual(['PASSED']);
      // The repeats leave the remediation record in place instead of overwriting it with a plain PASSED.
      expect(findings[0]?.ProductFields?.['keywarden/detector/deactivatedKeys']).toBe(newKey.id);
    });

    it('creates no finding for a user whose first key is created', async () => {
      const userName = moto.uniqueName('kw-det-first');
      const key = await moto.single(userName);

      const result = await detector({})(keyEvent({ userName, accessKeyId: key.id }), LAMBDA_CONTEXT);

      expect(result).toMatchObject({ status: 'evaluated', verdict: 'compliant', action: 'none' });
      expect(await moto.findingsOf(userName)).toEqual([]);
    });

    it('leaves one finding and one deactivation for 10 concurrent events about one user', async () => {
      const userName = moto.uniqueName('kw-det-burst');
      const [oldKey, newKey] = await moto.pair(userName);
      const run = detector({ REMEDIATION_MODE: 'deactivate' });
      const events = Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? keyEvent({ userName, accessKeyId: newKey.id })
          : keyEvent({ eventName: 'UpdateAccessKey', userName, accessKeyId: newKey.id, status: 'Active' }),
      );

      const results = await Promise.all(events.map((event) => run(event, LAMBDA_CONTEXT)));

      expect(results.filter((r) => r.status === 'evaluated' && r.action === 'deactivated')).toHaveLength(1);
      expect(writes()).toBe(1);
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Inactive', [newKey.id]: 'Active' });
      expect((await moto.findingsOf(userName)).map((f) => f.Compliance?.Status)).toEqual(['PASSED']);
    });

    it('logs one summary line per event with user, verdict, action and finding Id, and never a secret', async () => {
      const userName = moto.uniqueName('kw-det-log');
      const [, newKey] = await moto.pair(userName);
      const logger = createLogger('keywarden-detector-test');
      const lines: unknown[][] = [];
      for (const level of ['debug', 'info', 'warn', 'error'] as const) {
        vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
          lines.push([level, ...args]);
        });
      }

      await detector({ REMEDIATION_MODE: 'deactivate' }, logger)(
        keyEvent({ userName, accessKeyId: newKey.id }),
        LAMBDA_CONTEXT,
      );

      expect(lines).toHaveLength(1);
      expect(lines[0]).toEqual([
        'info',
        'evaluated',
        expect.objectContaining({
          userName,
          verdict: 'violation',
          action: 'deactivated',
          findingId: findingIdFor('123456789012', userName),
          complianceStatus: 'PASSED',
        }),
      ]);
      expect(JSON.stringify(lines)).not.toContain(newKey.secret);
    });
  });

  describe('notifications', () => {
    it('puts one event per outcome on EVENT_BUS_NAME: detected, deactivated, resolved', async () => {
      const bus = await moto.notificationBus();
      const detect = detector({ EVENT_BUS_NAME: bus.busName });
      const deactivate = detector({ EVENT_BUS_NAME: bus.busName, REMEDIATION_MODE: 'deactivate' });
      const detected = moto.uniqueName('kw-det-notify-a');
      const fixed = moto.uniqueName('kw-det-notify-b');
      const gone = moto.uniqueName('kw-det-notify-c');
      const [detectedOld, detectedNew] = await moto.pair(detected);
      const [fixedOld, fixedNew] = await moto.pair(fixed);
      const [, goneNew] = await moto.pair(gone);

      await detect(keyEvent({ userName: detected, accessKeyId: detectedNew.id }), LAMBDA_CONTEXT);
      await moto.deleteKey(detected, detectedOld.id);
      await detect(
        keyEvent({ eventName: 'DeleteAccessKey', userName: detected, accessKeyId: detectedOld.id }),
        LAMBDA_CONTEXT,
      );
      // A compliant user who was never failing is not "resolved".
      await detect(
        keyEvent({ eventName: 'DeleteAccessKey', userName: detected, accessKeyId: detectedOld.id }),
        LAMBDA_CONTEXT,
      );
      await deactivate(keyEvent({ userName: fixed, accessKeyId: fixedNew.id }), LAMBDA_CONTEXT);
      await detect(keyEvent({ userName: gone, accessKeyId: goneNew.id }), LAMBDA_CONTEXT);
      await moto.deleteUser(gone);
      await detect(
        keyEvent({ eventName: 'DeleteAccessKey', userName: gone, accessKeyId: goneNew.id }),
        LAMBDA_CONTEXT,
      );

      const events = await bus.receive();
      expect(events.map((e) => [e.source, e['detail-type'], e.detail.userName])).toEqual([
        ['keywarden', 'KeyWarden Violation Detected', detected],
        ['keywarden', 'KeyWarden Violation Resolved', detected],
        ['keywarden', 'KeyWarden Key Deactivated', fixed],
        ['keywarden', 'KeyWarden Violation Detected', gone],
        ['keywarden', 'KeyWarden Violation Resolved', gone],
      ]);
      expect(events[4]?.detail).toMatchObject({
        reason: 'user deleted',
        findingId: findingIdFor('123456789012', gone),
      });
      expect(events[0]?.detail).toMatchObject({
        accountId: '123456789012',
        findingId: findingIdFor('123456789012', detected),
        activeAccessKeyIds: [detectedOld.id, detectedNew.id],
        action: 'none',
      });
      expect(events[2]?.detail).toMatchObject({ deactivatedAccessKeyIds: [fixedOld.id] });
      expect(proxy.count('events.PutEvents')).toBe(5);
    });

    it('puts no event when EVENT_BUS_NAME is unset', async () => {
      const userName = moto.uniqueName('kw-det-quiet');
      const [, newKey] = await moto.pair(userName);

      await detector({ REMEDIATION_MODE: 'deactivate' })(
        keyEvent({ userName, accessKeyId: newKey.id }),
        LAMBDA_CONTEXT,
      );

      expect(proxy.count('events.PutEvents')).toBe(0);
      expect(writes()).toBe(1);
    });
  });
});
