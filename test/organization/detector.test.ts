/**
 * The detector in organization mode against moto: a central account (the function's) and member accounts reached
 * through the member role, through the counting proxy.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import type { Finding } from '../../functions/core/finding.ts';
import { threatFindingIdFor } from '../../functions/core/threat-finding.ts';
import type { createDetector as CreateDetector, DetectorResult } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { MemberRoleError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import {
  ADMIN_CALLER,
  keyEvent,
  LAMBDA_CONTEXT,
  MotoAdmin,
  pointSdkAt,
  recordImports,
} from '../detector/moto-helpers.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import { MotoAccount } from '../support/moto-accounts.ts';

type Handler = (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<DetectorResult>;

const CENTRAL = '123456789012';
const MEMBER_A = '111122223333';
const MEMBER_B = '444455556666';
const ROLE = 'KeyWardenMember';

let proxy: AwsProxy;
let moto: MotoAdmin;
let central: MotoAccount;
let memberA: MotoAccount;
let memberB: MotoAccount;
let createDetector: typeof CreateDetector;
let sent: { findings: Finding[] };

beforeAll(async () => {
  const endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
  central = new MotoAccount(endpoint, CENTRAL);
  memberA = new MotoAccount(endpoint, MEMBER_A);
  memberB = new MotoAccount(endpoint, MEMBER_B);
  proxy = await startAwsProxy(endpoint);
  pointSdkAt(proxy.endpoint);
  ({ createDetector } = await import('../../functions/detector/handler.ts'));
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
  // Every finding sent is valid ASFF for the account it names, which is the account that sent it (checked below).
  for (const finding of sent.findings) expectValidAsff(finding, finding.AwsAccountId);
  vi.restoreAllMocks();
});

function detector(env: Record<string, string>): Handler {
  return createDetector({
    config: loadConfig(env),
    clients: createClients(),
    logger: createLogger('keywarden-detector-test'),
    sleep: async () => {},
  });
}

/**
 * The event IAM delivers in `accountId` (envelope and record agree), as a member rule forwards it. The caller is
 * the user itself unless `options.caller` names another IAM user (in the member account too).
 */
function memberEvent(accountId: string, options: Parameters<typeof keyEvent>[0]): Record<string, unknown> {
  const event = keyEvent(options);
  const detail = event.detail as Record<string, unknown>;
  const identity = detail.userIdentity as { arn: string };
  return {
    ...event,
    account: accountId,
    detail: {
      ...detail,
      recipientAccountId: accountId,
      userIdentity: { ...identity, accountId, arn: identity.arn.replace(`::${CENTRAL}:`, `::${accountId}:`) },
    },
  };
}

describe('detector in organization mode (moto, three accounts)', () => {
  it('imports each member violation into that member’s own hub with its credentials, none into the central one', async () => {
    // Prepare
    const handler = detector({ MEMBER_ROLE_NAME: ROLE });
    const userA = moto.uniqueName('kw-org-a');
    const userB = moto.uniqueName('kw-org-b');
    const [, newestA] = await memberA.userWithKeys(userA, 2, '/engineering/');
    const [, newestB] = await memberB.userWithKeys(userB, 2);

    // Act
    const resultA = await handler(
      memberEvent(MEMBER_A, { userName: userA, accessKeyId: newestA }),
      LAMBDA_CONTEXT,
    );
    const resultB = await handler(
      memberEvent(MEMBER_B, { userName: userB, accessKeyId: newestB }),
      LAMBDA_CONTEXT,
    );

    // Assess
    expect(resultA).toMatchObject({ status: 'evaluated', userName: userA, verdict: 'violation' });
    expect(resultB).toMatchObject({ status: 'evaluated', userName: userB, verdict: 'violation' });
    const [findingA, ...moreA] = await memberA.findingsOf(userA);
    expect(moreA).toEqual([]);
    expect(findingA).toMatchObject({
      AwsAccountId: MEMBER_A,
      ProductArn: `arn:aws:securityhub:us-east-1:${MEMBER_A}:product/${MEMBER_A}/default`,
      Compliance: { Status: 'FAILED' },
    });
    // The user ARN keeps the member's path.
    expect(findingA?.Resources?.[0]?.Id).toBe(`arn:aws:iam::${MEMBER_A}:user/engineering/${userA}`);
    expect(await memberB.findingsOf(userB)).toMatchObject([{ AwsAccountId: MEMBER_B }]);
    // Nothing in the central hub, for either member's user.
    expect(await central.findingsOf(userA, MEMBER_A)).toEqual([]);
    expect(await central.findingsOf(userB, MEMBER_B)).toEqual([]);
    expect(await memberA.findingsOf(userB, MEMBER_B)).toEqual([]);
    expect(sent.findings.map((finding) => finding.AwsAccountId)).toEqual([MEMBER_A, MEMBER_B]);
    expect(proxy.count('AssumeRole')).toBe(2);
  });

  it('reuses a member’s session: a second event for the account makes no AssumeRole', async () => {
    const handler = detector({ MEMBER_ROLE_NAME: ROLE });
    const first = moto.uniqueName('kw-org-reuse');
    const second = moto.uniqueName('kw-org-reuse');
    const [, keyOne] = await memberA.userWithKeys(first, 2);
    const [keyTwo] = await memberA.userWithKeys(second, 1);

    await handler(memberEvent(MEMBER_A, { userName: first, accessKeyId: keyOne }), LAMBDA_CONTEXT);
    const afterFirst = proxy.countsByOperation();
    proxy.reset();
    const result = await handler(
      memberEvent(MEMBER_A, { userName: second, accessKeyId: keyTwo }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'compliant' });
    expect(afterFirst['sts.AssumeRole']).toBe(1);
    expect(proxy.count('AssumeRole')).toBe(0);
    expect(proxy.count('ListAccessKeys')).toBeGreaterThan(0);
  });

  it('deactivates the surplus key inside the member, and records it in the member’s hub', async () => {
    const handler = detector({ MEMBER_ROLE_NAME: ROLE, REMEDIATION_MODE: 'deactivate' });
    const userName = moto.uniqueName('kw-org-deact');
    const [oldest, newest] = await memberB.userWithKeys(userName, 2);

    const result = await handler(memberEvent(MEMBER_B, { userName, accessKeyId: newest }), LAMBDA_CONTEXT);

    expect(result).toMatchObject({ status: 'evaluated', verdict: 'violation', action: 'deactivated' });
    expect(await memberB.statusOf(userName)).toEqual({
      [oldest as string]: 'Inactive',
      [newest as string]: 'Active',
    });
    const [finding] = await memberB.findingsOf(userName);
    expect(finding).toMatchObject({ AwsAccountId: MEMBER_B, Compliance: { Status: 'PASSED' } });
    expect(proxy.count('UpdateAccessKey')).toBe(1);
  });

  it('throws MemberRoleError, having read nothing, when the member role cannot be assumed', async () => {
    const handler = detector({ MEMBER_ROLE_NAME: ROLE });
    const userName = moto.uniqueName('kw-org-denied');
    const [, newest] = await memberA.userWithKeys(userName, 2);
    proxy.inject({ operation: 'AssumeRole', status: 403, code: 'AccessDenied' });

    const outcome = handler(memberEvent(MEMBER_A, { userName, accessKeyId: newest }), LAMBDA_CONTEXT);

    await expect(outcome).rejects.toBeInstanceOf(MemberRoleError);
    await expect(outcome).rejects.toThrow(`arn:aws:iam::${MEMBER_A}:role/${ROLE}`);
    expect(proxy.countsByOperation()).toEqual({ 'sts.AssumeRole': 1 });
    expect(await memberA.findingsOf(userName)).toEqual([]);
    // The failure is not remembered: once the role can be assumed, the retry succeeds.
    proxy.clearFaults();
    await expect(
      handler(memberEvent(MEMBER_A, { userName, accessKeyId: newest }), LAMBDA_CONTEXT),
    ).resolves.toMatchObject({ status: 'evaluated', verdict: 'violation' });
  });

  it('skips, with no AWS call, an account outside MEMBER_ACCOUNT_IDS, and acts in one inside it', async () => {
    const handler = detector({ MEMBER_ROLE_NAME: ROLE, MEMBER_ACCOUNT_IDS: MEMBER_A });
    const userName = moto.uniqueName('kw-org-allow');
    const [, newest] = await memberB.userWithKeys(userName, 2);
    const userA = moto.uniqueName('kw-org-allow');
    const [, newestA] = await memberA.userWithKeys(userA, 2);

    const skipped = await handler(memberEvent(MEMBER_B, { userName, accessKeyId: newest }), LAMBDA_CONTEXT);
    const callsForSkipped = proxy.count();
    const acted = await handler(
      memberEvent(MEMBER_A, { userName: userA, accessKeyId: newestA }),
      LAMBDA_CONTEXT,
    );

    expect(skipped).toMatchObject({ status: 'skipped', reason: 'account-not-listed' });
    expect(callsForSkipped).toBe(0);
    expect(acted).toMatchObject({ status: 'evaluated', verdict: 'violation' });
  });

  it('skips a member event whose envelope and record name different accounts, with no AWS call', async () => {
    const handler = detector({ MEMBER_ROLE_NAME: ROLE });
    const userName = moto.uniqueName('kw-org-mismatch');
    const [, newest] = await memberA.userWithKeys(userName, 2);
    const event = { ...memberEvent(MEMBER_A, { userName, accessKeyId: newest }), account: MEMBER_B };

    expect(await handler(event, LAMBDA_CONTEXT)).toMatchObject({
      status: 'skipped',
      reason: 'account-mismatch',
    });
    expect(proxy.count()).toBe(0);
  });

  it('without MEMBER_ROLE_NAME, skips a member event with no AWS call; its own account works as before', async () => {
    const handler = detector({});
    const userName = moto.uniqueName('kw-org-single');
    const [, newest] = await memberA.userWithKeys(userName, 2);
    const own = moto.uniqueName('kw-org-single-own');
    const [, ownNewest] = await moto.userWithKeys(own, 2);

    const skipped = await handler(memberEvent(MEMBER_A, { userName, accessKeyId: newest }), LAMBDA_CONTEXT);
    const callsForSkipped = proxy.count();
    const evaluated = await handler(keyEvent({ userName: own, accessKeyId: ownNewest?.id }), LAMBDA_CONTEXT);

    expect(skipped).toMatchObject({ status: 'skipped', reason: 'other-account' });
    expect(callsForSkipped).toBe(0);
    expect(evaluated).toMatchObject({ status: 'evaluated', verdict: 'violation' });
    expect(proxy.count('AssumeRole')).toBe(0);
    expect(await central.findingsOf(own)).toMatchObject([{ AwsAccountId: CENTRAL }]);
  });

  it('raises the threat finding of a key a member’s admin minted in that member’s hub, for that member', async () => {
    const handler = detector({ MEMBER_ROLE_NAME: ROLE });
    const userName = moto.uniqueName('kw-org-minted');
    const [minted] = await memberA.userWithKeys(userName, 1);
    if (minted === undefined) throw new Error('no key created');

    const result = await handler(
      memberEvent(MEMBER_A, { userName, accessKeyId: minted, caller: ADMIN_CALLER }),
      LAMBDA_CONTEXT,
    );

    const threatId = threatFindingIdFor(MEMBER_A, minted);
    expect(result).toMatchObject({ verdict: 'compliant', threatFindingId: threatId });
    const threats = (await memberA.findings()).filter((finding) => finding.Id === threatId);
    expect(threats).toMatchObject([
      {
        AwsAccountId: MEMBER_A,
        ProductArn: `arn:aws:securityhub:us-east-1:${MEMBER_A}:product/${MEMBER_A}/default`,
        Severity: { Label: 'HIGH' },
        ProductFields: { 'keywarden/threat/actorArn': `arn:aws:iam::${MEMBER_A}:user/admin` },
      },
    ]);
    expect((await central.findings()).filter((finding) => finding.Id === threatId)).toEqual([]);
    expect(sent.findings.map((finding) => [finding.Id, finding.AwsAccountId])).toEqual([
      [threatId, MEMBER_A],
    ]);
  });

  it('counts the calls of one member event', async () => {
    const handler = detector({ MEMBER_ROLE_NAME: ROLE, MEMBER_ACCOUNT_IDS: `${MEMBER_A},${MEMBER_B}` });
    const userName = moto.uniqueName('kw-org-count');
    const [, newest] = await memberA.userWithKeys(userName, 2);

    await handler(memberEvent(MEMBER_A, { userName, accessKeyId: newest }), LAMBDA_CONTEXT);

    // A violation in a fresh session: the single-account budget plus one AssumeRole.
    const counts = proxy.countsByOperation();
    console.info(
      `[organization] calls for one member event (violation, new session): ${JSON.stringify(counts)}`,
    );
    expect(counts['sts.AssumeRole']).toBe(1);
    expect(counts['iam.UpdateAccessKey']).toBeUndefined();
  });
});
