import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDetector } from '../../functions/detector/handler.ts';
import type { Json } from './arbitraries.ts';
import { ACCOUNT_ID } from './arbitraries.ts';
import { keyEvent, withField } from './events.ts';
import {
  captureOutput,
  createMockWorld,
  detectorConfig,
  fuzzLogger,
  LAMBDA_CONTEXT,
  type Scenario,
} from './mock-harness.ts';
import {
  activeIds,
  type MotoWorld,
  startDetector,
  startMotoWorld,
  useEndpoint,
  violatingUser,
} from './moto-world.ts';

let world: MotoWorld;
let restoreEnv: () => void;
let hostileEvents = 0;

beforeAll(async () => {
  world = await startMotoWorld(inject('motoEndpoint'), 'sec');
  restoreEnv = useEndpoint(world.proxy.endpoint);
});

afterAll(async () => {
  console.info(
    `[reliability] security: ${hostileEvents} hostile or out-of-scope events delivered against moto`,
  );
  restoreEnv?.();
  await world?.close();
});

interface OutOfScopeRow {
  readonly name: string;
  readonly reason: string;
  readonly change: (event: ReturnType<typeof keyEvent>) => ReturnType<typeof keyEvent>;
}

const OTHER_ACCOUNT = '210987654321';
const OUT_OF_SCOPE: OutOfScopeRow[] = [
  {
    name: 'the envelope names another account than the record',
    reason: 'account-mismatch',
    change: (e) => withField(e, 'account', OTHER_ACCOUNT),
  },
  {
    name: 'the record names another recipient account than the envelope',
    reason: 'account-mismatch',
    change: (e) => withField(e, 'detail.recipientAccountId', OTHER_ACCOUNT),
  },
  {
    name: 'both name another account and no member role is configured',
    reason: 'other-account',
    change: (e) =>
      withField(withField(e, 'account', OTHER_ACCOUNT), 'detail.recipientAccountId', OTHER_ACCOUNT),
  },
  {
    name: 'the source is another service',
    reason: 'not-iam-api-call',
    change: (e) => withField(e, 'source', 'aws.sts'),
  },
  {
    name: 'the source is a custom one',
    reason: 'not-iam-api-call',
    change: (e) => withField(e, 'source', 'keywarden.forged'),
  },
  {
    name: 'the detail-type is not an API call',
    reason: 'not-iam-api-call',
    change: (e) => withField(e, 'detail-type', 'AWS Console Sign In via CloudTrail'),
  },
  {
    name: 'the event source is another service',
    reason: 'not-iam-api-call',
    change: (e) => withField(e, 'detail.eventSource', 'sts.amazonaws.com'),
  },
  ...['CreateUser', 'AttachUserPolicy', 'ListAccessKeys', 'createaccesskey'].map((eventName) => ({
    name: `the event name is ${eventName}`,
    reason: 'event-out-of-scope',
    change: (e: ReturnType<typeof keyEvent>) => withField(e, 'detail.eventName', eventName),
  })),
  {
    name: 'the call failed with AccessDenied',
    reason: 'failed-call',
    change: (e) =>
      withField(withField(e, 'detail.errorCode', 'AccessDenied'), 'detail.requestParameters', null),
  },
];

describe('detector handler with events it must not act on (moto)', () => {
  for (const row of OUT_OF_SCOPE) {
    it(`makes no AWS call when ${row.name}, and deactivates when it is in scope`, async () => {
      const { userName, kept, surplus } = await violatingUser(world, 'scope');
      const event = keyEvent({ userName, accessKeyId: kept.id });
      const detector = startDetector();
      world.proxy.reset();

      const hostile = await detector.deliver(row.change(event));
      hostileEvents += 1;
      const callsForHostile = world.proxy.count();
      const keysAfterHostile = await world.keysOf(userName);
      const twin = await detector.deliver(event);

      expect(hostile.settled).toEqual({
        ok: true,
        value: expect.objectContaining({ status: 'skipped', reason: row.reason }),
      });
      expect(callsForHostile).toBe(0);
      expect(activeIds(keysAfterHostile)).toHaveLength(2);
      expect(twin.settled).toEqual({ ok: true, value: expect.objectContaining({ action: 'deactivated' }) });
      expect(detector.updates).toEqual([{ UserName: userName, AccessKeyId: surplus.id, Status: 'Inactive' }]);
    });
  }

  it("skips KeyWarden's own deactivation coming back, recognised by its role's session, without any IAM call", async () => {
    const role = `arn:aws:iam::${ACCOUNT_ID}:role/keywarden-detector`;
    const { userName, surplus } = await violatingUser(world, 'own');
    const detector = startDetector({ ownRoleArns: [role] });
    world.proxy.reset();
    const echo = keyEvent({
      eventName: 'UpdateAccessKey',
      userName,
      accessKeyId: surplus.id,
      status: 'Inactive',
    });

    const { settled } = await detector.deliver(
      withField(
        withField(echo, 'detail.userIdentity', {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/keywarden-detector/keywarden-detector`,
          accountId: ACCOUNT_ID,
          sessionContext: { sessionIssuer: { type: 'Role', arn: role, accountId: ACCOUNT_ID } },
        }),
        'account',
        ACCOUNT_ID,
      ),
    );
    hostileEvents += 1;

    expect(settled).toEqual({ ok: true, value: expect.objectContaining({ reason: 'own-remediation' }) });
    expect(world.proxy.countsByOperation()).toEqual({ 'securityhub.GetFindings': 1 });
  });

  it("evaluates a deactivation whose user agent claims to be KeyWarden's (a user agent proves nothing)", async () => {
    const { userName, surplus } = await violatingUser(world, 'own-forged');
    const detector = startDetector({ ownRoleArns: [`arn:aws:iam::${ACCOUNT_ID}:role/keywarden-detector`] });

    const { settled } = await detector.deliver(
      keyEvent({
        eventName: 'UpdateAccessKey',
        userName,
        accessKeyId: surplus.id,
        status: 'Inactive',
        userAgent:
          'aws-sdk-js/3.1169.0 ua/2.1 os/linux lang/js md/nodejs#22 api/iam#3.1169.0 keywarden/0.1.0',
      }),
    );
    hostileEvents += 1;

    expect(settled).toEqual({ ok: true, value: expect.objectContaining({ status: 'evaluated' }) });
  });

  it("evaluates a re-activation even when its user agent claims to be KeyWarden's (the twin)", async () => {
    const { userName, kept, surplus } = await violatingUser(world, 'own-claimed');
    const detector = startDetector();

    const { settled } = await detector.deliver(
      keyEvent({
        eventName: 'UpdateAccessKey',
        userName,
        accessKeyId: surplus.id,
        status: 'Active',
        userAgent: 'aws-cli/2.17.0 keywarden/0.1.0',
      }),
    );
    hostileEvents += 1;

    expect(settled).toEqual({ ok: true, value: expect.objectContaining({ action: 'deactivated' }) });
    expect(activeIds(await world.keysOf(userName))).toEqual([kept.id]);
  });
});

describe('detector handler with event content that points elsewhere (moto)', () => {
  it('acts on requestParameters.userName, not on a different user named in responseElements', async () => {
    const compliantName = world.userName('asked');
    await world.createUser(compliantName, 1);
    const other = await violatingUser(world, 'named-in-response');
    const detector = startDetector();

    const { settled } = await detector.deliver(
      keyEvent({ userName: compliantName, responseUserName: other.userName, accessKeyId: other.kept.id }),
    );
    hostileEvents += 1;

    expect(settled).toEqual({
      ok: true,
      value: expect.objectContaining({ userName: compliantName, verdict: 'compliant' }),
    });
    expect(detector.updates).toEqual([]);
    expect(activeIds(await world.keysOf(other.userName))).toHaveLength(2);
  });

  it('deactivates only the named user when the roles are swapped (the twin)', async () => {
    const compliantName = world.userName('bystander');
    const [bystanderKey] = await world.createUser(compliantName, 1);
    const target = await violatingUser(world, 'asked-violating');
    const detector = startDetector();

    const { settled } = await detector.deliver(
      keyEvent({ userName: target.userName, responseUserName: compliantName, accessKeyId: target.kept.id }),
    );

    expect(settled).toEqual({
      ok: true,
      value: expect.objectContaining({ userName: target.userName, action: 'deactivated' }),
    });
    expect(detector.updates).toEqual([
      { UserName: target.userName, AccessKeyId: target.surplus.id, Status: 'Inactive' },
    ]);
    expect(activeIds(await world.keysOf(compliantName))).toEqual([bystanderKey?.id]);
  });

  it("never touches another user's key named in the event", async () => {
    const asked = await violatingUser(world, 'asked');
    const owner = await violatingUser(world, 'key-owner');
    const detector = startDetector();

    const { settled } = await detector.deliver(
      keyEvent({
        eventName: 'UpdateAccessKey',
        userName: asked.userName,
        accessKeyId: owner.surplus.id,
        status: 'Inactive',
      }),
    );
    hostileEvents += 1;

    expect(settled.ok).toBe(true);
    expect(detector.updates).toEqual([
      { UserName: asked.userName, AccessKeyId: asked.surplus.id, Status: 'Inactive' },
    ]);
    expect(activeIds(await world.keysOf(owner.userName))).toHaveLength(2);
  });

  for (const named of ['surplus', 'kept'] as const) {
    it(`keeps the key IAM says is newest when the event names the ${named} key as just created`, async () => {
      const user = await violatingUser(world, `names-${named}`);
      const detector = startDetector();

      await detector.deliver(keyEvent({ userName: user.userName, accessKeyId: user[named].id }));
      hostileEvents += 1;

      expect(detector.updates).toEqual([
        { UserName: user.userName, AccessKeyId: user.surplus.id, Status: 'Inactive' },
      ]);
      expect(activeIds(await world.keysOf(user.userName))).toEqual([user.kept.id]);
    });
  }

  it('writes only under the name IAM holds when the event spells the user name in another case', async () => {
    // moto looks names up case-sensitively (the variant is "not found"); real IAM names are case-insensitive,
    // which the mocked test below covers. Either way a write may only name the user as IAM holds it.
    const user = await violatingUser(world, 'case');
    const detector = startDetector();

    const { settled } = await detector.deliver(
      keyEvent({ userName: user.userName.toUpperCase(), accessKeyId: user.kept.id }),
    );
    hostileEvents += 1;

    expect(settled.ok).toBe(true);
    for (const update of detector.updates) {
      expect(update).toEqual({ UserName: user.userName, AccessKeyId: user.surplus.id, Status: 'Inactive' });
    }
    expect(activeIds(await world.keysOf(user.userName))).toHaveLength(2 - detector.updates.length);
  });

  it('keeps a planted secret out of the logs and the stored finding', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
    const user = await violatingUser(world, 'secret');
    const event = keyEvent({ userName: user.userName, accessKeyId: user.kept.id }) as Record<string, Json>;
    const planted = withField(
      withField(event, 'detail.responseElements.accessKey.secretAccessKey', secret),
      'detail.additionalEventData',
      { SecretAccessKey: secret, sessionToken: secret },
    );
    const detector = startDetector();

    const { settled, lines } = await detector.deliver(planted);
    hostileEvents += 1;
    const stored = JSON.stringify(await world.findingsOf(user.userName));

    expect(settled).toEqual({ ok: true, value: expect.objectContaining({ action: 'deactivated' }) });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).not.toMatch(/secret_?access_?key/i);
    expect(stored).toContain(user.userName);
    expect(stored).not.toContain(secret);
  });
});

describe('detector handler where IAM resolves names case-insensitively (mocked IAM)', () => {
  const mockWorld = createMockWorld();
  const scenario: Scenario = {
    mode: 'deactivate',
    keepKey: 'newest',
    graceHours: 0,
    notify: false,
    userExists: true,
    exempt: false,
    nameCase: 'lower',
    keys: [
      {
        id: 'AKIAOLDEROLDEROLDER1',
        status: 'Active',
        createDate: new Date('2024-01-01T00:00:00Z'),
        lastUsed: undefined,
      },
      {
        id: 'AKIANEWERNEWERNEWER2',
        status: 'Active',
        createDate: new Date('2024-06-01T00:00:00Z'),
        lastUsed: undefined,
      },
    ],
  };

  it('writes to the user under the name IAM confirmed, not the spelling in the event', async () => {
    mockWorld.install(scenario);
    const handler = createDetector({
      config: detectorConfig(scenario),
      clients: mockWorld.clients,
      logger: fuzzLogger(),
      sleep: async () => {},
    });

    const { settled } = await captureOutput(() =>
      handler(keyEvent({ userName: 'Mixed.Case-User' }), LAMBDA_CONTEXT),
    );

    expect(settled).toEqual({
      ok: true,
      value: expect.objectContaining({ userName: 'mixed.case-user', action: 'deactivated' }),
    });
    expect(mockWorld.updates()).toEqual([
      { UserName: 'mixed.case-user', AccessKeyId: 'AKIAOLDEROLDEROLDER1', Status: 'Inactive' },
    ]);
  });

  it('writes nothing in detect-only mode for the same user (the twin)', async () => {
    const detectOnly = { ...scenario, mode: 'off' as const };
    mockWorld.install(detectOnly);
    const handler = createDetector({
      config: detectorConfig(detectOnly),
      clients: mockWorld.clients,
      logger: fuzzLogger(),
      sleep: async () => {},
    });

    const { settled } = await captureOutput(() =>
      handler(keyEvent({ userName: 'Mixed.Case-User' }), LAMBDA_CONTEXT),
    );

    expect(settled).toEqual({
      ok: true,
      value: expect.objectContaining({ verdict: 'violation', action: 'none' }),
    });
    expect(mockWorld.updates()).toEqual([]);
  });
});
