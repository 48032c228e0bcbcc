/**
 * How many AWS calls one event costs, counted by the proxy in front of moto (what reaches AWS, not what the
 * code intends). Budget: a first key 2, a compliant deactivation or deletion 4 (its finding is read, so a
 * record of KeyWarden's is kept; the key's threat finding is read in the same GetFindings and resolved in the same
 * import), violation ≤ 5 + its usage evidence, violation with deactivation ≤ 8 + its usage evidence (the intent is
 * recorded before the write and the outcome proven by a read after it), KeyWarden's own echo 1. Usage evidence is
 * one LookupEvents per active key and Region (a second page when a key has more than 50 events in the window): 2
 * here, where the keys were never used (one Region each); an exempt or compliant user reads none. A key another principal made usable adds one GetFindings (is
 * its threat finding recorded already?); its threat finding rides in the compliance finding's import. A rename
 * (UpdateUser with newUserName) costs the user's read, one GetFindings (the findings under the old and the new name
 * and the threat findings of the user's keys) and, when there is a finding to carry, one import (3 or 4; a violation
 * adds the last use of its two active keys); an UpdateUser that renames nothing costs none.
 */

import { UpdateUserCommand } from '@aws-sdk/client-iam';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import { findingIdFor } from '../../functions/core/finding.ts';
import { createDetector } from '../../functions/detector/handler.ts';
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

let proxy: AwsProxy;
let moto: MotoAdmin;
let sent: ReturnType<typeof recordImports>;

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
  sent = recordImports();
});

afterEach(() => {
  for (const finding of sent.findings) expectValidAsff(finding);
  vi.restoreAllMocks();
});

const detector = (env: Record<string, string>) =>
  createDetector({
    config: loadConfig(env),
    clients: createClients(),
    logger: createLogger('keywarden-count'),
  });

interface Case {
  readonly case: string;
  readonly env: Record<string, string>;
  readonly keys: number;
  readonly tags: Record<string, string>;
  readonly budget: number;
  readonly counts: Record<string, number>;
  /** Deactivate the older key first and send that UpdateAccessKey event instead of the CreateAccessKey one. */
  readonly deactivated?: boolean;
}

describe('AWS calls per event', () => {
  it.each<Case>([
    {
      case: 'a compliant user (first key created: no finding can exist)',
      env: {},
      keys: 1,
      tags: {},
      budget: 2,
      counts: { 'iam.GetUser': 1, 'iam.ListAccessKeys': 1 },
    },
    {
      case: 'a compliant user (second key deactivated)',
      env: {},
      keys: 2,
      tags: {},
      budget: 4,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'securityhub.GetFindings': 1,
        'securityhub.BatchImportFindings': 1,
      },
      deactivated: true,
    },
    {
      case: 'a violation, detect only',
      env: {},
      keys: 2,
      tags: {},
      budget: 7,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'iam.GetAccessKeyLastUsed': 2,
        'cloudtrail.LookupEvents': 2,
        'securityhub.BatchImportFindings': 1,
      },
    },
    {
      case: 'a violation in dry run',
      env: { REMEDIATION_MODE: 'dry-run' },
      keys: 2,
      tags: {},
      budget: 7,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'iam.GetAccessKeyLastUsed': 2,
        'cloudtrail.LookupEvents': 2,
        'securityhub.BatchImportFindings': 1,
      },
    },
    {
      case: 'an exempt user with two keys',
      env: { REMEDIATION_MODE: 'deactivate' },
      keys: 2,
      tags: { 'keywarden:exempt': 'true' },
      budget: 5,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'iam.GetAccessKeyLastUsed': 2,
        'securityhub.BatchImportFindings': 1,
      },
    },
    {
      case: 'a violation with deactivation',
      env: { REMEDIATION_MODE: 'deactivate' },
      keys: 2,
      tags: {},
      budget: 10,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 2,
        'iam.GetAccessKeyLastUsed': 2,
        'cloudtrail.LookupEvents': 2,
        'iam.UpdateAccessKey': 1,
        'securityhub.BatchImportFindings': 2,
      },
    },
  ])('costs $budget calls or fewer for $case', async ({ env, keys, tags, budget, counts, deactivated }) => {
    const userName = moto.uniqueName('kw-count');
    const created = await moto.userWithKeys(userName, keys, { tags });
    const oldest = created[0];
    const newest = created[created.length - 1];
    if (deactivated && oldest) await moto.setStatus(userName, oldest.id, 'Inactive');
    proxy.reset();

    const event = deactivated
      ? keyEvent({ eventName: 'UpdateAccessKey', userName, accessKeyId: oldest?.id, status: 'Inactive' })
      : keyEvent({ userName, accessKeyId: newest?.id });
    await detector(env)(event, LAMBDA_CONTEXT);

    expect(proxy.countsByOperation()).toEqual(counts);
    expect(proxy.count()).toBeLessThanOrEqual(budget);
  });

  it.each<Omit<Case, 'tags' | 'deactivated'> & { readonly imported: number }>([
    {
      case: 'a first key another IAM user created',
      env: {},
      keys: 1,
      budget: 4,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'securityhub.GetFindings': 1,
        'securityhub.BatchImportFindings': 1,
      },
      imported: 1,
    },
    {
      case: 'a second key another IAM user created, detect only',
      env: {},
      keys: 2,
      budget: 8,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'iam.GetAccessKeyLastUsed': 2,
        'cloudtrail.LookupEvents': 2,
        'securityhub.GetFindings': 1,
        'securityhub.BatchImportFindings': 1,
      },
      imported: 2,
    },
    {
      case: 'a second key another IAM user created, switched off (KEEP_KEY=auto)',
      env: { REMEDIATION_MODE: 'deactivate', KEEP_KEY: 'auto' },
      keys: 2,
      budget: 11,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 2,
        'iam.GetAccessKeyLastUsed': 2,
        'cloudtrail.LookupEvents': 2,
        'iam.UpdateAccessKey': 1,
        'securityhub.GetFindings': 1,
        'securityhub.BatchImportFindings': 2,
      },
      imported: 3,
    },
  ])('costs $budget calls for $case', async ({ env, keys, budget, counts, imported }) => {
    const userName = moto.uniqueName('kw-count-minted');
    const created = await moto.userWithKeys(userName, keys);
    proxy.reset();

    const event = keyEvent({ userName, accessKeyId: created[created.length - 1]?.id, caller: ADMIN_CALLER });
    await detector(env)(event, LAMBDA_CONTEXT);

    expect(proxy.countsByOperation()).toEqual(counts);
    expect(proxy.count()).toBe(budget);
    // The intent (when deactivating), then the compliance finding and the threat finding in one import.
    expect(sent.findings).toHaveLength(imported);
  });

  it('costs what it did before usage evidence when the detector reads none: a violation 5', async () => {
    const userName = moto.uniqueName('kw-count-plain');
    const created = await moto.userWithKeys(userName, 2);
    proxy.reset();

    const plain = createDetector({
      config: loadConfig({}),
      clients: createClients(),
      logger: createLogger('keywarden-count'),
      usageEvidence: false,
    });
    await plain(keyEvent({ userName, accessKeyId: created[1]?.id }), LAMBDA_CONTEXT);

    expect(proxy.countsByOperation()).toEqual({
      'iam.GetUser': 1,
      'iam.ListAccessKeys': 1,
      'iam.GetAccessKeyLastUsed': 2,
      'securityhub.BatchImportFindings': 1,
    });
  });

  it.each([
    { case: 'its deactivation', eventName: 'UpdateAccessKey', state: 'PASSED/ACTIVE' },
    { case: 'its deletion', eventName: 'DeleteAccessKey', state: 'PASSED/ARCHIVED' },
  ] as const)(
    'costs 4 calls to resolve the threat finding of a key another principal minted on $case',
    async ({ eventName, state }) => {
      const userName = moto.uniqueName('kw-count-resolve');
      const [, minted] = await moto.userWithKeys(userName, 2);
      if (minted === undefined) throw new Error('no key created');
      await detector({})(
        keyEvent({ userName, accessKeyId: minted.id, caller: ADMIN_CALLER }),
        LAMBDA_CONTEXT,
      );
      if (eventName === 'DeleteAccessKey') await moto.deleteKey(userName, minted.id);
      else await moto.setStatus(userName, minted.id, 'Inactive');
      proxy.reset();
      sent.findings.length = 0;

      const event = keyEvent({ eventName, userName, accessKeyId: minted.id, status: 'Inactive' });
      await detector({})(event, LAMBDA_CONTEXT);

      expect(proxy.countsByOperation()).toEqual({
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'securityhub.GetFindings': 1,
        'securityhub.BatchImportFindings': 1,
      });
      expect(sent.findings.map((f) => `${f.Compliance?.Status}/${f.RecordState}`)).toEqual([
        'PASSED/ACTIVE',
        state,
      ]);
    },
  );

  it.each([
    { case: 'a rename of a user never reported', reported: false, rename: true, calls: 3 },
    { case: 'a rename of a user with a finding to carry', reported: true, rename: true, calls: 4 },
    { case: 'an UpdateUser that changes the path only', reported: true, rename: false, calls: 0 },
  ])('costs $calls calls for $case', async ({ reported, rename, calls }) => {
    const userName = moto.uniqueName('kw-count-rename');
    const newName = `${userName}-new`;
    const [oldKey] = await moto.userWithKeys(userName, 2);
    if (oldKey === undefined) throw new Error('no key created');
    if (reported) await detector({})(keyEvent({ userName, accessKeyId: oldKey.id }), LAMBDA_CONTEXT);
    await moto.setStatus(userName, oldKey.id, 'Inactive');
    if (rename) await moto.iam.send(new UpdateUserCommand({ UserName: userName, NewUserName: newName }));
    const event = keyEvent({ userName }) as { detail: Record<string, unknown> };
    event.detail.eventName = 'UpdateUser';
    event.detail.requestParameters = rename
      ? { userName, newUserName: newName }
      : { userName, newPath: '/eng/' };
    event.detail.responseElements = null;
    proxy.reset();
    sent.findings.length = 0;

    await detector({})(event, LAMBDA_CONTEXT);

    expect(proxy.count()).toBe(calls);
    if (calls > 0) {
      expect(proxy.countsByOperation()).toMatchObject({
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'securityhub.GetFindings': 1,
      });
    }
    // The finding under the new name, then the old one archived: in one import.
    expect(sent.findings.map((f) => `${f.Id}:${f.RecordState}`)).toEqual(
      reported && rename
        ? [`${findingIdFor(ACCOUNT_ID, newName)}:ACTIVE`, `${findingIdFor(ACCOUNT_ID, userName)}:ARCHIVED`]
        : [],
    );
  });

  it('costs one finding read for the UpdateAccessKey event of its own deactivation', async () => {
    const role = 'arn:aws:iam::123456789012:role/KeyWarden-DetectorRole';
    const userName = moto.uniqueName('kw-count-own');
    const [oldKey] = await moto.userWithKeys(userName, 2);
    const echo = keyEvent({
      eventName: 'UpdateAccessKey',
      userName,
      accessKeyId: oldKey?.id,
      status: 'Inactive',
      caller: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::123456789012:assumed-role/KeyWarden-DetectorRole/keywarden-detector',
        issuerArn: role,
      },
    });

    await detector({ REMEDIATION_MODE: 'deactivate', OWN_ROLE_ARNS: role })(echo, LAMBDA_CONTEXT);

    expect(proxy.countsByOperation()).toEqual({ 'securityhub.GetFindings': 1 });
  });
});
