import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AwsClients, CLIENT_SETTINGS } from '../../functions/adapters/clients.ts';
import type { Finding } from '../../functions/core/finding.ts';
import { AwsCallError } from '../../functions/shared/errors.ts';
import { keyEvent } from './events.ts';
import {
  type MotoWorld,
  newestKey,
  REGION,
  startDetector,
  startMotoWorld,
  useEndpoint,
} from './moto-world.ts';

let world: MotoWorld;
let restoreEnv: () => void;
let faultsInjected = 0;
let attemptsSeen = 0;

beforeAll(async () => {
  world = await startMotoWorld(inject('motoEndpoint'), 'faults');
  // The production clients (createClients) reach moto only through the proxy.
  restoreEnv = useEndpoint(world.proxy.endpoint);
});

afterAll(async () => {
  console.info(
    `[reliability] proxy faults: ${faultsInjected} faulty responses injected in front of moto, ${attemptsSeen} attempts counted at the proxy`,
  );
  restoreEnv?.();
  await world?.close();
});

/** Arms a fault and clears the proxy's counts, so each test counts only its own calls. */
function arm(...faults: Parameters<MotoWorld['proxy']['inject']>[0][]): void {
  world.proxy.clearFaults();
  world.proxy.reset();
  for (const fault of faults) world.proxy.inject(fault);
}

function count(operation: string): number {
  const seen = world.proxy.count(operation);
  attemptsSeen += seen;
  return seen;
}

/** Clients as createClients builds them, but with a short request timeout so a test can outwait it. */
function clientsWithTimeout(requestTimeout: number): AwsClients {
  const settings = {
    ...CLIENT_SETTINGS,
    requestHandler: { ...CLIENT_SETTINGS.requestHandler, requestTimeout },
    region: REGION,
  };
  return {
    iam: new IAMClient(settings),
    securityHub: new SecurityHubClient(settings),
    eventBridge: new EventBridgeClient(settings),
  };
}

/** A user with two active keys, reported (detect-only) so that every run reads IAM and imports a finding. */
async function reportedUser(prefix: string) {
  const userName = world.userName(prefix);
  const keys = await world.createUser(userName, 2);
  return { userName, event: keyEvent({ userName, accessKeyId: newestKey(keys).id }) };
}

const DETECT_ONLY = { remediationMode: 'off' } as const;

const activeOf = (keys: readonly { id: string; status: string }[]): string[] =>
  keys.filter((key) => key.status === 'Active').map((key) => key.id);

describe('detector handler with faults injected between the SDK and moto', () => {
  it('makes one ListAccessKeys attempt when IAM answers at once (the twin of the retries below)', async () => {
    const { event } = await reportedUser('no-fault');
    arm();

    const { settled } = await startDetector(DETECT_ONLY).deliver(event);

    expect(settled).toEqual({ ok: true, value: expect.objectContaining({ verdict: 'violation' }) });
    expect(count('iam.ListAccessKeys')).toBe(1);
  });

  it('succeeds on the third attempt when IAM throttles ListAccessKeys twice', async () => {
    const { userName, event } = await reportedUser('iam-throttled');
    arm({ operation: 'iam.ListAccessKeys', status: 400, code: 'Throttling', times: 2 });
    faultsInjected += 2;

    const { settled } = await startDetector(DETECT_ONLY).deliver(event);

    expect(settled).toEqual({ ok: true, value: expect.objectContaining({ verdict: 'violation' }) });
    expect(count('iam.ListAccessKeys')).toBe(3);
    expect((await world.findingsOf(userName)).map((f) => f.Compliance?.Status)).toEqual(['FAILED']);
  });

  it('succeeds on the third attempt when Security Hub throttles BatchImportFindings twice', async () => {
    const { userName, event } = await reportedUser('sh-throttled');
    arm({ operation: 'BatchImportFindings', status: 429, code: 'TooManyRequestsException', times: 2 });
    faultsInjected += 2;

    const { settled } = await startDetector(DETECT_ONLY).deliver(event);

    expect(settled.ok).toBe(true);
    expect(count('securityhub.BatchImportFindings')).toBe(3);
    expect(await world.findingsOf(userName)).toHaveLength(1);
  });

  it('gives up after exactly 4 attempts and throws when IAM keeps failing with 500', async () => {
    const { event } = await reportedUser('iam-500');
    arm({ operation: 'iam.ListAccessKeys', status: 500, code: 'ServiceFailure' });

    const { settled, lines } = await startDetector(DETECT_ONLY).deliver(event);
    faultsInjected += count('iam.ListAccessKeys');

    expect(settled.ok).toBe(false);
    if (settled.ok) return;
    expect(settled.error).toBeInstanceOf(AwsCallError);
    expect(settled.error).toMatchObject({ operation: 'ListAccessKeys', code: 'ServiceFailure' });
    expect(world.proxy.count('iam.ListAccessKeys')).toBe(4);
    expect(world.proxy.count('BatchImportFindings')).toBe(0);
    // The error log says how many attempts were made, and carries nothing of the signed request.
    const errorLine = lines.find((line) => line.includes('"level":"ERROR"')) ?? '';
    expect(errorLine).toContain('"attempts":4');
    expect(errorLine).not.toMatch(/Signature=|Credential=|X-Amz-Security-Token/i);
  });

  it('gives up after exactly 4 attempts and throws when Security Hub keeps failing with 500', async () => {
    const { event } = await reportedUser('sh-500');
    arm({ operation: 'BatchImportFindings', status: 500, code: 'InternalException' });

    const { settled } = await startDetector(DETECT_ONLY).deliver(event);
    faultsInjected += count('securityhub.BatchImportFindings');

    expect(settled.ok).toBe(false);
    if (settled.ok) return;
    expect(settled.error).toMatchObject({ name: 'AwsCallError', operation: 'BatchImportFindings' });
    expect(world.proxy.count('BatchImportFindings')).toBe(4);
  });

  it('leaves both keys active and throws when UpdateAccessKey stays throttled', async () => {
    const userName = world.userName('update-throttled');
    const keys = await world.createUser(userName, 2);
    arm({ operation: 'iam.UpdateAccessKey', status: 400, code: 'Throttling' });

    const { settled } = await startDetector().deliver(
      keyEvent({ userName, accessKeyId: newestKey(keys).id }),
    );
    faultsInjected += count('iam.UpdateAccessKey');

    expect(settled.ok).toBe(false);
    if (settled.ok) return;
    expect(settled.error).toMatchObject({
      name: 'AwsCallError',
      operation: 'UpdateAccessKey',
      code: 'Throttling',
    });
    expect(world.proxy.count('iam.UpdateAccessKey')).toBe(4);
    // Only the intent was recorded (FAILED, "deactivating"): nothing claims the key is off.
    expect(world.proxy.count('BatchImportFindings')).toBe(1);
    expect((await world.findingsOf(userName)).map((f) => f.Compliance?.Status)).toEqual(['FAILED']);
    expect((await world.keysOf(userName)).map((key) => key.status)).toEqual(['Active', 'Active']);
  });

  it('answers within the request timeout when IAM is slow but not too slow', async () => {
    const { event } = await reportedUser('slow');
    arm({ operation: 'iam.ListAccessKeys', delayMs: 50, times: 1 });

    const { settled } = await startDetector(DETECT_ONLY, clientsWithTimeout(2_000)).deliver(event);

    expect(settled.ok).toBe(true);
    expect(count('iam.ListAccessKeys')).toBe(1);
  });

  for (const [service, operation] of [
    ['iam', 'ListAccessKeys'],
    ['securityhub', 'BatchImportFindings'],
  ] as const) {
    it(`times out each of 4 attempts and throws when ${operation} hangs past the request timeout`, async () => {
      const { event } = await reportedUser(`hung-${service}`);
      arm({ operation: `${service}.${operation}`, delayMs: 3_000 });

      const { settled } = await startDetector(DETECT_ONLY, clientsWithTimeout(250)).deliver(event);
      faultsInjected += count(`${service}.${operation}`);

      expect(settled.ok).toBe(false);
      if (settled.ok) return;
      expect(settled.error).toMatchObject({ name: 'AwsCallError', operation, code: 'TimeoutError' });
      expect(world.proxy.count(`${service}.${operation}`)).toBe(4);
    });
  }
});

describe('detector handler after a run that failed halfway (key deactivated, import failed)', () => {
  const statuses = (finding: Finding | undefined) =>
    (finding?.Resources ?? [])
      .filter((resource) => resource.Type === 'AwsIamAccessKey')
      .map((resource) => [
        resource.Details?.AwsIamAccessKey?.AccessKeyId,
        resource.Details?.AwsIamAccessKey?.Status,
      ]);

  /** Delivers `event` with Security Hub failing after the write, then again with it healthy, as Lambda's retry would. */
  async function failHalfwayThenRetry(userName: string, event: unknown) {
    const detector = startDetector();
    arm({
      operation: 'BatchImportFindings',
      status: 500,
      code: 'InternalException',
      when: () => world.proxy.count('iam.UpdateAccessKey') > 0,
    });
    const first = await detector.deliver(event);
    faultsInjected += count('securityhub.BatchImportFindings');
    const keysAfterFailure = await world.keysOf(userName);
    arm();
    const retry = await detector.deliver(event);
    return {
      first,
      keysAfterFailure,
      retry,
      updates: detector.updates,
      findings: await world.findingsOf(userName),
    };
  }

  it('replaces the open FAILED finding with the PASSED record of the deactivation on retry, with no second write', async () => {
    const userName = world.userName('halfway-reported');
    const keys = await world.createUser(userName, 2);
    const kept = newestKey(keys);
    const surplus = keys.find((key) => key.id !== kept.id);
    const event = keyEvent({ userName, accessKeyId: kept.id });
    // Reported first while detect-only (as during a rotation grace period): a FAILED finding is open.
    await startDetector(DETECT_ONLY).deliver(event);

    const { first, keysAfterFailure, retry, updates, findings } = await failHalfwayThenRetry(userName, event);

    expect(first.settled).toMatchObject({
      ok: false,
      error: {
        name: 'RemediationNotRecordedError',
        deactivatedAccessKeyIds: [surplus?.id],
        cause: { name: 'AwsCallError', operation: 'BatchImportFindings' },
      },
    });
    expect(keysAfterFailure.filter((key) => key.status === 'Active').map((key) => key.id)).toEqual([kept.id]);
    expect(retry.settled).toEqual({
      ok: true,
      value: expect.objectContaining({ verdict: 'compliant', action: 'none' }),
    });
    expect(updates).toEqual([{ UserName: userName, AccessKeyId: surplus?.id, Status: 'Inactive' }]);
    expect(findings.map((finding) => finding.Compliance?.Status)).toEqual(['PASSED']);
    expect(statuses(findings[0])).toEqual(
      expect.arrayContaining([
        [kept.id, 'Active'],
        [surplus?.id, 'Inactive'],
      ]),
    );
    expect(findings[0]?.ProductFields?.['keywarden/detector/deactivatedKeys']).toBe(surplus?.id);
    console.info(
      `[reliability] halfway run, finding open before: after retry "${findings[0]?.Title}" (${findings[0]?.Compliance?.StatusReasons?.[0]?.ReasonCode}); deactivatedKeys field: ${findings[0]?.ProductFields?.['keywarden/detector/deactivatedKeys'] ?? 'absent'}`,
    );
  });

  it('leaves no FAILED finding, records the deactivation and makes no second write when nothing was reported before', async () => {
    const userName = world.userName('halfway-new');
    const keys = await world.createUser(userName, 2);
    const kept = newestKey(keys);

    const { first, retry, updates, findings } = await failHalfwayThenRetry(
      userName,
      keyEvent({ userName, accessKeyId: kept.id }),
    );

    expect(first.settled.ok).toBe(false);
    expect(retry.settled).toEqual({
      ok: true,
      value: expect.objectContaining({ verdict: 'compliant', action: 'none' }),
    });
    expect(updates).toHaveLength(1);
    expect(findings.filter((finding) => finding.Compliance?.Status === 'FAILED')).toEqual([]);
    expect(findings.map((finding) => finding.Title)).toEqual([
      expect.stringContaining('KeyWarden deactivated'),
    ]);
    expect(activeOf(await world.keysOf(userName))).toEqual([kept.id]);
    console.info(
      `[reliability] halfway run, nothing reported before: ${findings.length} finding(s) after retry${findings.length ? ` ("${findings[0]?.Title}")` : ''}`,
    );
  });
});
