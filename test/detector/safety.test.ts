/**
 * What must hold when IAM changes under a request, an import fails, a user agent lies or two Lambda environments
 * race: the real detector against moto, through the proxy (which changes state under a request, fails chosen calls,
 * and drops an import older than what Security Hub holds, as AWS does).
 */

import { TagUserCommand } from '@aws-sdk/client-iam';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import { threatFindingIdFor } from '../../functions/core/threat-finding.ts';
import type { DetectorResult } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger, type Logger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import {
  ACCOUNT_ID,
  keyEvent,
  LAMBDA_CONTEXT,
  MotoAdmin,
  pointSdkAt,
  recordImports,
} from './moto-helpers.ts';

type Handler = (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<DetectorResult>;
type HandlerModule = typeof import('../../functions/detector/handler.ts');

const FIELD = 'keywarden/detector';
const DEACTIVATE = { REMEDIATION_MODE: 'deactivate' };
const OWN_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/KeyWarden-DetectorRole`;
const OWN_SESSION = {
  type: 'AssumedRole',
  arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/KeyWarden-DetectorRole/keywarden-detector`,
  issuerArn: OWN_ROLE,
};
const INTRUDER = { type: 'IAMUser', userName: 'mallory', arn: `arn:aws:iam::${ACCOUNT_ID}:user/mallory` };
const SDK_USER_AGENT =
  'aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js md/nodejs#22 api/iam#3.1169.0 keywarden/0.1.0';

let proxy: AwsProxy;
let moto: MotoAdmin;
let sent: { findings: unknown[] };

beforeAll(async () => {
  const endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
  // Security Hub answers a GetFindings by Id with those findings alone; moto pages through every finding the
  // whole run stored, which would make the counts depend on the other test files.
  proxy = await startAwsProxy(endpoint, { filterFindingsById: true });
  pointSdkAt(proxy.endpoint);
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
  for (const finding of sent.findings) expectValidAsff(finding as never);
  vi.restoreAllMocks();
});

/** A fresh module graph: its own per-process state, as a separate Lambda execution environment has. */
async function environment(): Promise<HandlerModule> {
  vi.resetModules();
  return import('../../functions/detector/handler.ts');
}

async function detector(
  env: Record<string, string>,
  options: { logger?: Logger; module?: HandlerModule } = {},
): Promise<Handler> {
  const { createDetector } = options.module ?? (await environment());
  return createDetector({
    config: loadConfig({ OWN_ROLE_ARNS: OWN_ROLE, ...env }),
    clients: createClients(),
    logger: options.logger ?? createLogger('keywarden-safety-test'),
    sleep: async () => {},
  });
}

const active = (keys: { status: string }[]) => keys.filter((key) => key.status === 'Active').length;

describe('detector safety against moto', () => {
  it('never leaves a user with no active key when the kept key is switched off under the write', async () => {
    const userName = moto.uniqueName('kw-safe-race');
    const [oldKey, newKey] = await moto.pair(userName);
    // Another principal switches off the key KeyWarden keeps, between KeyWarden's decision and its write.
    proxy.inject({
      operation: 'iam.UpdateAccessKey',
      times: 1,
      hook: () => moto.setStatus(userName, newKey.id, 'Inactive'),
    });

    const result = await (await detector(DEACTIVATE))(
      keyEvent({ userName, accessKeyId: newKey.id }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'rolled-back' });
    expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [newKey.id]: 'Inactive' });
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.Status).toBe('FAILED');
    expect(finding.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('DEACTIVATION_ROLLED_BACK');
    expect(finding.Description).toContain(`re-activated ${oldKey.id}`);
  });

  it('proves each deactivation with a read: 8 calls and 2 of usage evidence, the last import after the last IAM read', async () => {
    const userName = moto.uniqueName('kw-safe-calls');
    const [, newKey] = await moto.pair(userName);

    await (await detector(DEACTIVATE))(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);

    expect(proxy.calls.map((c) => `${c.service}.${c.operation}`)).toEqual([
      expect.stringMatching(/^iam\.(GetUser|ListAccessKeys)$/),
      expect.stringMatching(/^iam\.(GetUser|ListAccessKeys)$/),
      'iam.GetAccessKeyLastUsed',
      'iam.GetAccessKeyLastUsed',
      // The usage evidence of the two active keys, read before the intent is recorded.
      'cloudtrail.LookupEvents',
      'cloudtrail.LookupEvents',
      'securityhub.BatchImportFindings',
      'iam.UpdateAccessKey',
      'iam.ListAccessKeys',
      'securityhub.BatchImportFindings',
    ]);
    expect((await moto.findingOf(userName)).Compliance?.Status).toBe('PASSED');
  });

  it('takes no user agent for its own: a forged one is evaluated, and re-activating a switched-off key is reported', async () => {
    const userName = moto.uniqueName('kw-safe-forged');
    const [legitKey, intruderKey] = await moto.pair(userName, {});
    // KeyWarden (KEEP_KEY=oldest) switched off the intruder's new key.
    const handler = await detector({ ...DEACTIVATE, KEEP_KEY: 'oldest' });
    await handler(keyEvent({ userName, accessKeyId: intruderKey.id }), LAMBDA_CONTEXT);
    expect(await moto.statusOf(userName)).toEqual({ [legitKey.id]: 'Active', [intruderKey.id]: 'Inactive' });

    // The intruder switches off the legitimate key and re-activates theirs, both calls signed "keywarden/".
    await moto.setStatus(userName, legitKey.id, 'Inactive');
    const off = await handler(
      keyEvent({
        userName,
        eventName: 'UpdateAccessKey',
        accessKeyId: legitKey.id,
        status: 'Inactive',
        caller: INTRUDER,
        userAgent: SDK_USER_AGENT,
      }),
      LAMBDA_CONTEXT,
    );
    await moto.setStatus(userName, intruderKey.id, 'Active');
    const on = await handler(
      keyEvent({
        userName,
        eventName: 'UpdateAccessKey',
        accessKeyId: intruderKey.id,
        status: 'Active',
        caller: INTRUDER,
        userAgent: SDK_USER_AGENT,
      }),
      LAMBDA_CONTEXT,
    );

    expect(off.status).toBe('evaluated');
    expect(on.status).toBe('evaluated');
    // The re-activation by another principal is reported FAILED/HIGH by the key's threat finding, naming the caller.
    expect(on).toMatchObject({ threatFindingId: threatFindingIdFor(ACCOUNT_ID, intruderKey.id) });
    const [threat] = await moto.threatFindingsOf(intruderKey.id);
    expect(threat?.Compliance?.Status).toBe('FAILED');
    expect(threat?.Severity?.Label).toBe('HIGH');
    expect(threat?.ProductFields?.['keywarden/threat/actorArn']).toBe(INTRUDER.arn);
    expect(threat?.ProductFields?.['keywarden/threat/how']).toBe('re-activated');
    // One active key complies with CIS 1.13: the compliance finding follows compliance and keeps the history.
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.Status).toBe('PASSED');
    expect(finding.Severity?.Label).toBe('INFORMATIONAL');
    expect(finding.Compliance?.StatusReasons?.[0]?.ReasonCode).toBe('DEACTIVATED_KEY_REACTIVATED');
    expect(finding.Description).toContain(INTRUDER.arn);
    expect(finding.Description).toContain(threatFindingIdFor(ACCOUNT_ID, intruderKey.id));
    expect(finding.ProductFields?.[`${FIELD}/reactivatedKeys`]).toBe(intruderKey.id);
    expect(finding.ProductFields?.[`${FIELD}/reactivatedByKind`]).toBe('another-principal');
  });

  it("skips its own deactivation's echo, recognised by its role's session, with one read and no write", async () => {
    const userName = moto.uniqueName('kw-safe-echo');
    const [oldKey, newKey] = await moto.pair(userName);
    const handler = await detector(DEACTIVATE);
    await handler(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);
    proxy.reset();

    const echo = await handler(
      keyEvent({
        userName,
        eventName: 'UpdateAccessKey',
        accessKeyId: oldKey.id,
        status: 'Inactive',
        caller: OWN_SESSION,
      }),
      LAMBDA_CONTEXT,
    );

    expect(echo).toMatchObject({ status: 'skipped', reason: 'own-remediation' });
    expect(proxy.countsByOperation()).toEqual({ 'securityhub.GetFindings': 1 });
  });

  it('records a deactivation whose import failed: the retried event, or else the echo, converge on the record', async () => {
    for (const replay of ['retry', 'echo'] as const) {
      const userName = moto.uniqueName(`kw-safe-lost-${replay}`);
      const [oldKey, newKey] = await moto.pair(userName);
      const created = keyEvent({ userName, accessKeyId: newKey.id });
      proxy.reset();
      proxy.inject({
        operation: 'BatchImportFindings',
        when: () => proxy.count('UpdateAccessKey') > 0,
        status: 500,
        code: 'InternalException',
      });
      const handler = await detector(DEACTIVATE);

      await expect(handler(created, LAMBDA_CONTEXT)).rejects.toThrow(/could not record it/);
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Inactive', [newKey.id]: 'Active' });
      proxy.clearFaults();

      const next =
        replay === 'retry'
          ? created
          : keyEvent({
              userName,
              eventName: 'UpdateAccessKey',
              accessKeyId: oldKey.id,
              status: 'Inactive',
              caller: OWN_SESSION,
            });
      await handler(next, LAMBDA_CONTEXT);

      const finding = await moto.findingOf(userName);
      expect(finding.Compliance?.Status, replay).toBe('PASSED');
      expect(finding.ProductFields?.[`${FIELD}/deactivatedKeys`], replay).toBe(oldKey.id);
      expect(finding.Title, replay).toContain(`KeyWarden deactivated access key ${oldKey.id}`);
    }
  });

  it('lets the newer read win when two environments race on one user (UpdatedAt is the read time)', async () => {
    const userName = moto.uniqueName('kw-safe-stale');
    const [, newKey] = await moto.pair(userName);
    proxy.enforceUpdatedAt();
    // Environment A (detect only) reads the violation, then stalls (reading last use) before building its finding.
    let releaseA: () => void = () => {};
    const stalled = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    proxy.inject({ operation: 'GetAccessKeyLastUsed', times: 1, hook: () => stalled });
    const detectOnly = await detector({});
    const remediating = await detector(DEACTIVATE);
    const event = keyEvent({ userName, accessKeyId: newKey.id });

    const a = detectOnly(event, LAMBDA_CONTEXT);
    await vi.waitFor(() => expect(proxy.count('GetAccessKeyLastUsed')).toBe(2));
    // Environment B reads later, deactivates and records PASSED while A waits.
    const b = await remediating(event, LAMBDA_CONTEXT);
    releaseA();
    await a;

    expect(b).toMatchObject({ action: 'deactivated' });
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.Status).toBe('PASSED');
    expect(finding.Title).toContain('KeyWarden deactivated');
  });

  it('logs, and does not fail, an event whose key IAM never shows (created and deleted at once)', async () => {
    const userName = moto.uniqueName('kw-safe-gone-key');
    const key = await moto.single(userName);
    await moto.deleteKey(userName, key.id);
    const logger = createLogger('keywarden-safety-test');
    const warn = vi.spyOn(logger, 'warn');

    const result = await (await detector({}, { logger }))(
      keyEvent({ userName, accessKeyId: key.id }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'compliant' });
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('IAM never showed what the event reported'),
      expect.objectContaining({ userName, expected: { accessKeyId: key.id, state: 'present' } }),
    );
    expect(await moto.findingsOf(userName)).toEqual([]);
  });

  it('evaluates a TagUser of the exemption at once and names who set it; another tag costs no call', async () => {
    const userName = moto.uniqueName('kw-safe-tag');
    await moto.pair(userName);
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    await moto.iam.send(
      new TagUserCommand({ UserName: userName, Tags: [{ Key: 'keywarden:exempt', Value: until }] }),
    );
    const handler = await detector({});
    const tagEvent = (key: string, value: string) => {
      const event = keyEvent({ userName, caller: INTRUDER }) as { detail: Record<string, unknown> };
      event.detail.eventName = 'TagUser';
      event.detail.requestParameters = { userName, tags: [{ key, value }] };
      event.detail.responseElements = null;
      return event;
    };

    const other = await handler(tagEvent('team', 'data'), LAMBDA_CONTEXT);
    expect(other).toMatchObject({ status: 'skipped', reason: 'tag-out-of-scope' });
    expect(proxy.calls).toEqual([]);

    const result = await handler(tagEvent('keywarden:exempt', until), LAMBDA_CONTEXT);
    expect(result).toMatchObject({ status: 'evaluated', verdict: 'exempt' });
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.Status).toBe('WARNING');
    expect(finding.Title).toContain(`until ${until}`);
    expect(finding.ProductFields?.[`${FIELD}/exemptionSetBy`]).toContain(INTRUDER.arn);
  });
});
