/**
 * In-use protection against moto in deactivate mode: a key is "in use" when a request was signed with it (moto then
 * reports its last use), and such a key is not switched off, unless another principal made it usable (KEEP_KEY=auto).
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import type { DetectorResult } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import {
  ADMIN_CALLER,
  keyEvent,
  LAMBDA_CONTEXT,
  MotoAdmin,
  pointSdkAt,
  recordImports,
  selfCaller,
} from './moto-helpers.ts';

type Handler = (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<DetectorResult>;

const FIELD = 'keywarden/detector';
const DEACTIVATE = { REMEDIATION_MODE: 'deactivate' };

let proxy: AwsProxy;
let moto: MotoAdmin;
let sent: { findings: unknown[] };

beforeAll(async () => {
  const endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
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

async function detector(env: Record<string, string>): Promise<Handler> {
  vi.resetModules();
  const { createDetector } = await import('../../functions/detector/handler.ts');
  return createDetector({
    config: loadConfig(env),
    clients: createClients(),
    logger: createLogger('keywarden-in-use-test'),
    sleep: async () => {},
  });
}

const writes = () => proxy.count('iam.UpdateAccessKey');
const reasonCodes = async (userName: string) =>
  (await moto.findingOf(userName)).Compliance?.StatusReasons?.map((reason) => reason.ReasonCode);

describe('in-use protection against moto (REMEDIATION_MODE=deactivate)', () => {
  it('keeps the old key an application uses when the user makes a new one: KEY_IN_USE, no write, same calls', async () => {
    // Prepare: the user signs its own CreateAccessKey with the old key, as a rotation does.
    const userName = moto.uniqueName('kw-inuse-rotation');
    await moto.createUser(userName);
    const oldKey = await moto.createKey(userName);
    await moto.use(oldKey);
    const newKey = await moto.createOwnKey(oldKey);
    proxy.reset();

    // Act
    const result = await (await detector(DEACTIVATE))(
      keyEvent({ userName, accessKeyId: newKey.id, caller: selfCaller(userName) }),
      LAMBDA_CONTEXT,
    );

    // Assess
    expect(result).toMatchObject({ verdict: 'violation', action: 'in-use' });
    expect(writes()).toBe(0);
    expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [newKey.id]: 'Active' });
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.Status).toBe('FAILED');
    expect(await reasonCodes(userName)).toEqual(['KEY_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY']);
    const reason = finding.Compliance?.StatusReasons?.[0]?.Description ?? '';
    expect(reason).toMatch(
      new RegExp(`^${oldKey.id} is in use \\(${oldKey.id} last used \\d{4}-\\d{2}-\\d{2}T`),
    );
    expect(reason).toContain('in us-east-1');
    expect(reason).toMatch(/looks again at \d{4}-\d{2}-\d{2}T/);
    expect(finding.ProductFields?.[`${FIELD}/keysInUse`]).toBe(oldKey.id);
    // The protection reads nothing more: the last use of each active key was read already. The usage evidence
    // is one LookupEvents per active key and Region, whatever the protection decides.
    expect(proxy.calls.map((c) => `${c.service}.${c.operation}`).sort()).toEqual(
      [
        'iam.GetUser',
        'iam.ListAccessKeys',
        'iam.GetAccessKeyLastUsed',
        'iam.GetAccessKeyLastUsed',
        'cloudtrail.LookupEvents',
        'cloudtrail.LookupEvents',
        'securityhub.BatchImportFindings',
      ].sort(),
    );
  });

  it('switches the old key off as before when it is idle (never used)', async () => {
    const userName = moto.uniqueName('kw-inuse-idle');
    const [oldKey, newKey] = await moto.pair(userName);

    const result = await (await detector(DEACTIVATE))(
      keyEvent({ userName, accessKeyId: newKey.id }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'deactivated' });
    expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Inactive', [newKey.id]: 'Active' });
    expect(writes()).toBe(1);
  });

  it('switches off nothing when both keys are in use: BOTH_KEYS_IN_USE and a Keys In Use notification', async () => {
    // Prepare
    const bus = await moto.notificationBus();
    const userName = moto.uniqueName('kw-inuse-both');
    const [oldKey, newKey] = await moto.pair(userName);
    await moto.use(oldKey);
    await moto.use(newKey);

    // Act
    const result = await (await detector({ ...DEACTIVATE, EVENT_BUS_NAME: bus.busName }))(
      keyEvent({ userName, accessKeyId: newKey.id }),
      LAMBDA_CONTEXT,
    );

    // Assess
    expect(result).toMatchObject({ verdict: 'violation', action: 'in-use' });
    expect(writes()).toBe(0);
    expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [newKey.id]: 'Active' });
    expect(await reasonCodes(userName)).toEqual(['BOTH_KEYS_IN_USE', 'MORE_THAN_ONE_ACTIVE_KEY']);
    const reason = (await moto.findingOf(userName)).Compliance?.StatusReasons?.[0]?.Description ?? '';
    expect(reason).toContain(`${oldKey.id} last used`);
    expect(reason).toContain(`${newKey.id} last used`);
    expect(reason).toContain('Finish the rotation');
    const events = await bus.receive();
    expect(events.map((event) => event['detail-type'])).toEqual(['KeyWarden Keys In Use']);
    expect(events[0]?.detail).toMatchObject({
      userName,
      keysInUse: [
        expect.objectContaining({ accessKeyId: oldKey.id, lastUsedRegion: 'us-east-1' }),
        expect.objectContaining({ accessKeyId: newKey.id, lastUsedRegion: 'us-east-1' }),
      ],
    });
  });

  it('switches off a key another principal minted and uses, under KEEP_KEY=auto, though it is in use', async () => {
    const userName = moto.uniqueName('kw-inuse-intruder');
    const [oldKey, intruderKey] = await moto.pair(userName);
    await moto.use(oldKey);
    await moto.use(intruderKey);

    const result = await (await detector({ ...DEACTIVATE, KEEP_KEY: 'auto' }))(
      keyEvent({ userName, accessKeyId: intruderKey.id, caller: ADMIN_CALLER }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'deactivated' });
    expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [intruderKey.id]: 'Inactive' });
    expect(writes()).toBe(1);
  });

  it('behaves as before with IN_USE_HOURS=0: the old key in use is switched off', async () => {
    const userName = moto.uniqueName('kw-inuse-off');
    const [oldKey, newKey] = await moto.pair(userName);
    await moto.use(oldKey);

    const result = await (await detector({ ...DEACTIVATE, IN_USE_HOURS: '0' }))(
      keyEvent({ userName, accessKeyId: newKey.id }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'deactivated' });
    expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Inactive', [newKey.id]: 'Active' });
    expect(await reasonCodes(userName)).toEqual(['SURPLUS_KEY_DEACTIVATED']);
  });

  it('says in a dry run that it would not switch off the key in use, and writes nothing', async () => {
    const userName = moto.uniqueName('kw-inuse-dry');
    const [oldKey, newKey] = await moto.pair(userName);
    await moto.use(oldKey);

    const result = await (await detector({ REMEDIATION_MODE: 'dry-run' }))(
      keyEvent({ userName, accessKeyId: newKey.id }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'violation', action: 'in-use' });
    expect(writes()).toBe(0);
    const finding = await moto.findingOf(userName);
    expect(finding.Compliance?.StatusReasons?.[0]).toMatchObject({ ReasonCode: 'KEY_IN_USE' });
    expect(finding.Compliance?.StatusReasons?.[0]?.Description).toContain('would not switch it off');
    expect(finding.Description).toContain(`Dry run: KeyWarden would not switch off ${oldKey.id}`);
  });
});
