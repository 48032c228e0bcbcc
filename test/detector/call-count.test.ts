/**
 * How many AWS calls one event costs, counted by the proxy in front of moto (what reaches AWS, not what the
 * code intends). Budget: a first key 2, a compliant deactivation or deletion 4 (its finding is read, so a
 * record of KeyWarden's is kept), violation ≤ 5, violation with deactivation ≤ 8 (the intent is recorded before
 * the write and the outcome proven by a read after it), KeyWarden's own echo 1.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createClients } from '../../functions/adapters/clients.ts';
import { createDetector } from '../../functions/detector/handler.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { expectValidAsff } from '../support/asff-matchers.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import { keyEvent, LAMBDA_CONTEXT, MotoAdmin, pointSdkAt, recordImports } from './moto-helpers.ts';

let proxy: AwsProxy;
let moto: MotoAdmin;
let sent: ReturnType<typeof recordImports>;

beforeAll(async () => {
  const endpoint = inject('motoEndpoint');
  moto = new MotoAdmin(endpoint);
  proxy = await startAwsProxy(endpoint);
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
      budget: 5,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'iam.GetAccessKeyLastUsed': 2,
        'securityhub.BatchImportFindings': 1,
      },
    },
    {
      case: 'a violation in dry run',
      env: { REMEDIATION_MODE: 'dry-run' },
      keys: 2,
      tags: {},
      budget: 5,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 1,
        'iam.GetAccessKeyLastUsed': 2,
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
      budget: 8,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 2,
        'iam.GetAccessKeyLastUsed': 2,
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
