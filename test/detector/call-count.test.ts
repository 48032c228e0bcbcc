/**
 * How many AWS calls one event costs, counted by the proxy in front of moto (what reaches AWS, not what the
 * code intends). Budget: compliant ≤ 3, violation ≤ 5, violation with deactivation ≤ 7.
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
      case: 'a compliant user (first key created: no finding to update)',
      env: {},
      keys: 1,
      tags: {},
      budget: 3,
      counts: { 'iam.GetUser': 1, 'iam.ListAccessKeys': 1, 'securityhub.GetFindings': 1 },
    },
    {
      case: 'a compliant user (second key deactivated)',
      env: {},
      keys: 2,
      tags: {},
      budget: 3,
      counts: { 'iam.GetUser': 1, 'iam.ListAccessKeys': 1, 'securityhub.BatchImportFindings': 1 },
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
      budget: 7,
      counts: {
        'iam.GetUser': 1,
        'iam.ListAccessKeys': 2,
        'iam.GetAccessKeyLastUsed': 2,
        'iam.UpdateAccessKey': 1,
        'securityhub.BatchImportFindings': 1,
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

  it('costs nothing for the UpdateAccessKey event of its own deactivation', async () => {
    const userName = moto.uniqueName('kw-count-own');
    const [oldKey] = await moto.userWithKeys(userName, 2);
    const echo = keyEvent({
      eventName: 'UpdateAccessKey',
      userName,
      accessKeyId: oldKey?.id,
      status: 'Inactive',
      userAgent:
        'aws-sdk-js/3.1169.0 ua/2.1 os/linux#6.1 lang/js md/nodejs#22.11.0 api/iam#3.1169.0 m/E keywarden/0.1.0',
    });

    await detector({ REMEDIATION_MODE: 'deactivate' })(echo, LAMBDA_CONTEXT);

    expect(proxy.countsByOperation()).toEqual({});
  });
});
