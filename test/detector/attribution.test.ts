/**
 * Attribution against moto, through the exported handler: a key another principal mints or re-activates for a user
 * raises its own HIGH threat finding (MITRE ATT&CK T1098.001), KEEP_KEY=auto keeps the older key, and the threat
 * finding is resolved when the key is switched off or deleted.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import { findingIdFor } from '../../functions/core/finding.ts';
import { THREAT_FINDING_TYPE, threatFindingIdFor } from '../../functions/core/threat-finding.ts';
import type { DetectorResult } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import {
  ACCOUNT_ID,
  ADMIN_CALLER,
  keyEvent,
  LAMBDA_CONTEXT,
  MotoAdmin,
  pointSdkAt,
  recordImports,
} from './moto-helpers.ts';

type Handler = (event: unknown, context?: typeof LAMBDA_CONTEXT) => Promise<DetectorResult>;

const THREAT = 'keywarden/threat';
const ADMIN_ARN = ADMIN_CALLER.arn;
const PROVISIONER_ROLE = `arn:aws:iam::${ACCOUNT_ID}:role/provisioner`;
const PROVISIONER_SESSION = {
  type: 'AssumedRole',
  arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/provisioner/pipeline-42`,
  issuerArn: PROVISIONER_ROLE,
};

let proxy: AwsProxy;
let moto: MotoAdmin;
let sent: ReturnType<typeof recordImports>;
/** The exported handler loaded with the default configuration (detect only, KEEP_KEY=newest, no trusted issuer). */
let handler: Handler;

/** The module's exported handler, loaded afresh with these environment variables. */
async function exportedHandler(env: Record<string, string>): Promise<Handler> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  try {
    return (await import('../../functions/detector/handler.ts')).handler as Handler;
  } finally {
    for (const name of Object.keys(env)) vi.stubEnv(name, undefined);
  }
}

beforeAll(async () => {
  const endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
  // Security Hub answers a GetFindings by Id with those findings alone; moto pages through every finding the
  // whole run stored, which would make the counts depend on the other test files.
  proxy = await startAwsProxy(endpoint, { filterFindingsById: true });
  pointSdkAt(proxy.endpoint);
  handler = await exportedHandler({});
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await proxy.close();
});

beforeEach(() => {
  proxy.reset();
  sent = recordImports();
});

afterEach(() => {
  // Every finding the detector sent, compliance and threat alike, passes the ASFF validator for this account.
  for (const finding of sent.findings) expectValidAsff(finding);
  vi.restoreAllMocks();
});

describe('attribution through the exported handler against moto', () => {
  it('raises a HIGH threat finding beside the compliance finding when another IAM user mints a second key', async () => {
    const userName = moto.uniqueName('kw-attr-second');
    const [oldKey, minted] = await moto.pair(userName);

    const result = await handler(
      keyEvent({ userName, accessKeyId: minted.id, caller: ADMIN_CALLER }),
      LAMBDA_CONTEXT,
    );

    const threatId = threatFindingIdFor(ACCOUNT_ID, minted.id);
    expect(result).toMatchObject({ verdict: 'violation', action: 'none', threatFindingId: threatId });
    const [threat, ...more] = await moto.threatFindingsOf(minted.id);
    expect(more).toEqual([]);
    expectValidAsff(threat);
    expect(threat).toMatchObject({
      Id: `keywarden/t1098.001/${ACCOUNT_ID}/${minted.id}`,
      GeneratorId: 'keywarden/mitre-attack/T1098.001',
      Types: [THREAT_FINDING_TYPE],
      Severity: { Label: 'HIGH' },
      Compliance: { Status: 'FAILED' },
      RecordState: 'ACTIVE',
      Title: `Access key ${minted.id} of IAM user ${userName} was created by another principal: ${ADMIN_ARN}`,
      Action: {
        ActionType: 'AWS_API_CALL',
        AwsApiCallAction: { Api: 'CreateAccessKey', RemoteIpDetails: { IpAddressV4: '203.0.113.7' } },
      },
      ProductFields: {
        [`${THREAT}/actorArn`]: ADMIN_ARN,
        [`${THREAT}/actorType`]: 'IAMUser',
        [`${THREAT}/sourceIp`]: '203.0.113.7',
        [`${THREAT}/userAgent`]: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64',
        [`${THREAT}/actorMfa`]: 'unknown',
        [`${THREAT}/accessKeyId`]: minted.id,
        [`${THREAT}/activeKeysAfterCall`]: `${oldKey.id},${minted.id}`,
        [`${THREAT}/keyState`]: 'active',
      },
    });
    expect(threat?.Remediation?.Recommendation?.Text).toContain(
      `aws iam update-access-key --user-name ${userName} --access-key-id ${minted.id} --status Inactive`,
    );
    // The compliance finding stays one per user, and says who created the key.
    const compliance = await moto.findingOf(userName);
    expect(compliance.Severity?.Label).toBe('MEDIUM');
    expect(compliance.Description).toContain(`created by ${ADMIN_ARN}, another principal`);
    expect(compliance.ProductFields?.['keywarden/detector/key2/madeUsableBy']).toMatch(
      new RegExp(`^created by ${ADMIN_ARN} \\(IAMUser\\), another principal at `),
    );
    expect(sent.findings.map((f) => f.Id)).toEqual([findingIdFor(ACCOUNT_ID, userName), threatId]);
    // Each new threat finding arrives as NEW: KeyWarden never sends Workflow (the customer's), on either finding.
    expect(sent.findings.map((f) => f.Workflow)).toEqual([undefined, undefined]);
    expect(proxy.count('securityhub.BatchImportFindings')).toBe(1);
  });

  it('raises the threat finding for a first key another IAM user mints, though CIS 1.13 holds', async () => {
    const userName = moto.uniqueName('kw-attr-first');
    await moto.createUser(userName);
    const minted = await moto.createKey(userName);

    const result = await handler(
      keyEvent({ userName, accessKeyId: minted.id, caller: ADMIN_CALLER }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ verdict: 'compliant', findingImported: false });
    expect(await moto.findingsOf(userName)).toEqual([]);
    const threats = await moto.threatFindingsOf(minted.id);
    expect(threats).toMatchObject([
      {
        Severity: { Label: 'HIGH' },
        Compliance: { Status: 'FAILED' },
        ProductFields: { [`${THREAT}/activeKeysAfterCall`]: minted.id },
      },
    ]);
  });

  it('raises the threat finding when another IAM user re-activates a key', async () => {
    const userName = moto.uniqueName('kw-attr-reactivate');
    const key = await moto.single(userName);
    await moto.setStatus(userName, key.id, 'Inactive');
    await moto.setStatus(userName, key.id, 'Active');

    await handler(
      keyEvent({
        eventName: 'UpdateAccessKey',
        userName,
        accessKeyId: key.id,
        status: 'Active',
        caller: ADMIN_CALLER,
      }),
      LAMBDA_CONTEXT,
    );

    expect(await moto.threatFindingsOf(key.id)).toMatchObject([
      {
        Title: `Access key ${key.id} of IAM user ${userName} was re-activated by another principal: ${ADMIN_ARN}`,
        ProductFields: { [`${THREAT}/how`]: 're-activated', [`${THREAT}/eventName`]: 'UpdateAccessKey' },
      },
    ]);
  });

  it.each([
    { keys: 1, counts: { 'iam.GetUser': 1, 'iam.ListAccessKeys': 1 } },
    {
      keys: 2,
      // A violation: its usage evidence, one LookupEvents per active key (never used: one Region each).
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'iam.GetAccessKeyLastUsed': 2,
        'cloudtrail.LookupEvents': 2,
        'securityhub.BatchImportFindings': 1,
      },
    },
  ])(
    'raises nothing and reads no finding for a self-service key ($keys in all)',
    async ({ keys, counts }) => {
      const userName = moto.uniqueName('kw-attr-self');
      const created = await moto.userWithKeys(userName, keys);
      const own = created[created.length - 1];
      if (own === undefined) throw new Error('no key created');
      proxy.reset();

      // keyEvent's default caller is the user itself.
      const result = await handler(keyEvent({ userName, accessKeyId: own.id }), LAMBDA_CONTEXT);

      expect(result).not.toHaveProperty('threatFindingId');
      expect(await moto.threatFindingsOf(own.id)).toEqual([]);
      expect(proxy.countsByOperation()).toEqual(counts);
    },
  );

  it('raises nothing for a session of a trusted key issuer, and raises for the same session untrusted', async () => {
    const trusting = await exportedHandler({
      TRUSTED_KEY_ISSUERS: `arn:aws:iam::${ACCOUNT_ID}:role/provision*`,
    });
    const trustedUser = moto.uniqueName('kw-attr-trusted');
    const untrustedUser = moto.uniqueName('kw-attr-untrusted');
    const trustedKey = await moto.single(trustedUser);
    const untrustedKey = await moto.single(untrustedUser);
    proxy.reset();

    await trusting(
      keyEvent({ userName: trustedUser, accessKeyId: trustedKey.id, caller: PROVISIONER_SESSION }),
      LAMBDA_CONTEXT,
    );
    const trustedCalls = proxy.countsByOperation();
    await handler(
      keyEvent({ userName: untrustedUser, accessKeyId: untrustedKey.id, caller: PROVISIONER_SESSION }),
      LAMBDA_CONTEXT,
    );

    expect(trustedCalls).toEqual({ 'iam.GetUser': 1, 'iam.ListAccessKeys': 1 });
    expect(await moto.threatFindingsOf(trustedKey.id)).toEqual([]);
    expect(await moto.threatFindingsOf(untrustedKey.id)).toMatchObject([
      {
        ProductFields: {
          [`${THREAT}/actorType`]: 'AssumedRole',
          [`${THREAT}/actorKind`]: 'assumed role',
          [`${THREAT}/actorIssuerArn`]: PROVISIONER_ROLE,
        },
      },
    ]);
  });

  it('leaves one threat finding, imported once, when the same event arrives 5 times', async () => {
    const userName = moto.uniqueName('kw-attr-dup');
    const [, minted] = await moto.pair(userName);
    const event = keyEvent({ userName, accessKeyId: minted.id, caller: ADMIN_CALLER });

    const results: DetectorResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await handler(event, LAMBDA_CONTEXT));

    const threatId = threatFindingIdFor(ACCOUNT_ID, minted.id);
    expect(results.map((r) => (r.status === 'evaluated' ? r.threatFindingId : undefined))).toEqual(
      Array(5).fill(threatId),
    );
    const threats = await moto.threatFindingsOf(minted.id);
    expect(threats).toHaveLength(1);
    expect(sent.findings.filter((f) => f.Id === threatId)).toHaveLength(1);
    expect(threats[0]?.UpdatedAt).toBe(sent.findings.find((f) => f.Id === threatId)?.UpdatedAt);
    expect(await moto.findingsOf(userName)).toHaveLength(1);
  });

  describe('KEEP_KEY=auto with remediation on', () => {
    let auto: Handler;
    beforeAll(async () => {
      auto = await exportedHandler({ REMEDIATION_MODE: 'deactivate', KEEP_KEY: 'auto' });
    });

    it('keeps the older key and switches off the newer one another principal minted, resolving its threat finding', async () => {
      const userName = moto.uniqueName('kw-attr-auto-minted');
      const [oldKey, minted] = await moto.pair(userName);

      const result = await auto(
        keyEvent({ userName, accessKeyId: minted.id, caller: ADMIN_CALLER }),
        LAMBDA_CONTEXT,
      );

      expect(result).toMatchObject({ verdict: 'violation', action: 'deactivated' });
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Active', [minted.id]: 'Inactive' });
      const compliance = await moto.findingOf(userName);
      expect(compliance.Compliance?.Status).toBe('PASSED');
      expect(compliance.Description).toContain(
        `kept ${oldKey.id} because the newer key ${minted.id} was created by ${ADMIN_ARN}, another principal`,
      );
      // Raised and resolved at once: the intruder's key is off, the HIGH finding stays as the record of the call.
      const [threat] = await moto.threatFindingsOf(minted.id);
      expect(threat).toMatchObject({
        Severity: { Label: 'HIGH' },
        Compliance: { Status: 'PASSED' },
        RecordState: 'ACTIVE',
        ProductFields: {
          [`${THREAT}/keyState`]: 'inactive',
          [`${THREAT}/resolvedBy`]: "deactivated by KeyWarden's CIS 1.13 remediation",
        },
      });
      // The threat finding's UpdatedAt follows the compliance finding's: the read that proved the deactivation.
      expect(threat?.UpdatedAt).toBe(compliance.UpdatedAt);
    });

    it('keeps the newest key for a rotation the user does itself, and raises nothing', async () => {
      const userName = moto.uniqueName('kw-attr-auto-rotation');
      const [oldKey, newKey] = await moto.pair(userName);

      const result = await auto(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT);

      expect(result).toMatchObject({ verdict: 'violation', action: 'deactivated' });
      expect(result).not.toHaveProperty('threatFindingId');
      expect(await moto.statusOf(userName)).toEqual({ [oldKey.id]: 'Inactive', [newKey.id]: 'Active' });
      expect((await moto.findingOf(userName)).Description).toContain(
        `kept ${newKey.id} because no newer key is known to come from another principal`,
      );
      expect(await moto.threatFindingsOf(newKey.id)).toEqual([]);
    });
  });

  it.each([
    { case: 'the user deactivates it', eventName: 'UpdateAccessKey', record: 'ACTIVE', keyState: 'inactive' },
    { case: 'the user deletes it', eventName: 'DeleteAccessKey', record: 'ARCHIVED', keyState: 'deleted' },
  ] as const)(
    'resolves the threat finding when $case: PASSED, $record',
    async ({ eventName, record, keyState }) => {
      const userName = moto.uniqueName('kw-attr-resolve');
      const [, minted] = await moto.pair(userName);
      await handler(keyEvent({ userName, accessKeyId: minted.id, caller: ADMIN_CALLER }), LAMBDA_CONTEXT);
      const [open] = await moto.threatFindingsOf(minted.id);
      if (eventName === 'DeleteAccessKey') await moto.deleteKey(userName, minted.id);
      else await moto.setStatus(userName, minted.id, 'Inactive');

      await handler(
        keyEvent({ eventName, userName, accessKeyId: minted.id, status: 'Inactive' }),
        LAMBDA_CONTEXT,
      );

      const [resolved, ...more] = await moto.threatFindingsOf(minted.id);
      expect(more).toEqual([]);
      expect(resolved).toMatchObject({
        Id: open?.Id,
        CreatedAt: open?.CreatedAt,
        Severity: { Label: 'HIGH' },
        Compliance: { Status: 'PASSED' },
        RecordState: record,
        ProductFields: {
          [`${THREAT}/keyState`]: keyState,
          [`${THREAT}/resolvedBy`]: expect.stringMatching(
            new RegExp(`^${eventName} by arn:aws:iam::${ACCOUNT_ID}:user/${userName}, event `),
          ),
        },
      });
      expect(Date.parse(resolved?.UpdatedAt ?? '')).toBeGreaterThan(Date.parse(open?.UpdatedAt ?? ''));
      expect((await moto.findingOf(userName)).Compliance?.Status).toBe('PASSED');
    },
  );

  it('puts KeyWarden Key Minted By Another Principal on the notification bus', async () => {
    const bus = await moto.notificationBus();
    const notifying = await exportedHandler({ EVENT_BUS_NAME: bus.busName });
    const userName = moto.uniqueName('kw-attr-notify');
    const minted = await moto.single(userName);

    await notifying(keyEvent({ userName, accessKeyId: minted.id, caller: ADMIN_CALLER }), LAMBDA_CONTEXT);

    const events = await bus.receive();
    expect(events.map((e) => [e.source, e['detail-type']])).toEqual([
      ['keywarden', 'KeyWarden Key Minted By Another Principal'],
    ]);
    expect(events[0]?.detail).toMatchObject({
      accountId: ACCOUNT_ID,
      userName,
      accessKeyId: minted.id,
      how: 'created',
      actorArn: ADMIN_ARN,
      actorType: 'IAMUser',
      sourceIp: '203.0.113.7',
      activeAccessKeyIds: [minted.id],
      keyState: 'active',
      findingId: threatFindingIdFor(ACCOUNT_ID, minted.id),
    });
  });

  it('never treats its own role’s re-activation (a rolled-back deactivation) as another principal', async () => {
    const role = `arn:aws:iam::${ACCOUNT_ID}:role/keywarden-detector`;
    const run = (await import('../../functions/detector/handler.ts')).createDetector({
      config: loadConfig({ REMEDIATION_MODE: 'deactivate', OWN_ROLE_ARNS: role }),
      clients: createClients(),
      logger: createLogger('keywarden-attribution-test', 'SILENT'),
      sleep: async () => {},
    });
    const userName = moto.uniqueName('kw-attr-own');
    const [oldKey, newKey] = await moto.pair(userName);
    // The outcome's import fails: the stored finding keeps the intent to deactivate oldKey, so its echo is checked.
    proxy.inject({
      operation: 'BatchImportFindings',
      status: 400,
      code: 'InvalidInputException',
      when: () => proxy.count('iam.UpdateAccessKey') > 0,
    });
    await expect(run(keyEvent({ userName, accessKeyId: newKey.id }), LAMBDA_CONTEXT)).rejects.toMatchObject({
      name: 'RemediationNotRecordedError',
    });
    proxy.clearFaults();
    await moto.setStatus(userName, oldKey.id, 'Active');

    const result = await run(
      keyEvent({
        eventName: 'UpdateAccessKey',
        userName,
        accessKeyId: oldKey.id,
        status: 'Active',
        caller: {
          type: 'AssumedRole',
          arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/keywarden-detector/keywarden-detector`,
          issuerArn: role,
        },
      }),
      LAMBDA_CONTEXT,
    );

    expect(result).toMatchObject({ status: 'evaluated', userName });
    expect(result).not.toHaveProperty('threatFindingId');
    expect(await moto.threatFindingsOf(oldKey.id)).toEqual([]);
  });
});
