/**
 * The demo's rotation pass: a key an application is using is not switched off while the user rotates
 * (KEY_IN_USE, with where and by what CloudTrail shows it used), and the sweep's check switches it off once it has
 * been idle for IN_USE_HOURS. The key is "in use" because the demo signs calls with it (moto records the last use);
 * the idle window passes on the sweep's clock, set 25 hours ahead, rather than by waiting. LookupEvents (which moto
 * answers 500) is served by the test proxy from the records of the calls the demo signed with the key.
 */

import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type AwsProxy, startAwsProxy } from '../../test/support/aws-proxy.ts';
import { keyUseRecords } from '../../test/support/trail-records.ts';
import { keyEventEnvelope } from './cloudtrail.ts';
import { clientConfig, EMULATOR_REGION, type Emulator } from './emulator.ts';

const HOUR_MS = 3_600_000;
const APP_AGENT = 'payments-api/3.1 aws-sdk-js/3';

export interface RotationDemoOptions {
  readonly accountId: string;
  readonly userName: string;
  readonly out: (line?: string) => void;
  /** Records an outcome that is not the expected one. */
  readonly mismatch: (message: string) => void;
}

interface Key {
  readonly id: string;
  readonly secret: string;
}

/** Signs `calls` requests with the key, as an application would: IAM records its last use. */
async function signWith(endpoint: string, key: Key, calls: number): Promise<void> {
  const sts = new STSClient({
    ...clientConfig(endpoint),
    credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    customUserAgent: APP_AGENT,
  });
  for (let n = 0; n < calls; n++) await sts.send(new GetCallerIdentityCommand({}));
  sts.destroy();
}

async function createKey(iam: IAMClient, userName: string): Promise<Key> {
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { id: AccessKey?.AccessKeyId ?? '', secret: AccessKey?.SecretAccessKey ?? '' };
}

/** Runs the pass; the detector and the sweep's check reach moto through the test proxy. */
export async function runRotationDemo(emulator: Emulator, options: RotationDemoOptions): Promise<void> {
  const proxy = await startAwsProxy(emulator.endpoint);
  const endpoint = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = proxy.endpoint;
  try {
    await rotation(proxy, options);
  } finally {
    process.env.AWS_ENDPOINT_URL = endpoint;
    await proxy.close();
  }
}

async function rotation(proxy: AwsProxy, options: RotationDemoOptions): Promise<void> {
  const { accountId, userName, out, mismatch } = options;
  const iam = new IAMClient(clientConfig(proxy.endpoint));
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const oldKey = await createKey(iam, userName);
  await signWith(proxy.endpoint, oldKey, 3);
  // CloudTrail's records of the calls signed with a key, as LookupEvents returns them (sts, from this host).
  const served: Record<string, unknown>[] = [];
  const recordCalls = (key: Key, calls: number) => {
    served.push(
      ...keyUseRecords({
        accessKeyId: key.id,
        userName,
        accountId,
        calls,
        endedAt: new Date(),
        spacingMs: 1_000,
        sourceIp: '127.0.0.1',
        userAgent: APP_AGENT,
        eventSource: 'sts.amazonaws.com',
        eventName: 'GetCallerIdentity',
      }),
    );
    proxy.serveLookupEvents(served);
  };
  recordCalls(oldKey, 3);
  out(`${userName}'s application signs 3 calls with ${oldKey.id}; ${userName} starts a rotation:`);
  const newKey = await createKey(iam, userName);
  const { handleCreate, checkLater } = await keyWardenFor(accountId);
  const created = await handleCreate(userName, newKey.id);
  out(`  CreateAccessKey ${userName} creates ${newKey.id} → ${created.outcome}`);
  if (created.outcome !== 'violation, action in-use') mismatch(`${userName} rotation: ${created.outcome}`);
  for (const line of created.lines) out(`    ${line}`);
  out(`  Access keys in IAM: ${await keysOf(iam, userName)}`);
  await signWith(proxy.endpoint, newKey, 1);
  recordCalls(newKey, 1);
  out(
    `The application moves to ${newKey.id}; ${oldKey.id} idles. 25 hours later (the sweep's clock, no waiting):`,
  );
  const later = await checkLater(userName);
  out(`  sweep check of ${userName} → ${later.outcome}`);
  for (const line of later.lines) out(`    ${line}`);
  const keys = await keysOf(iam, userName);
  out(`  Access keys in IAM: ${keys}`);
  if (keys !== `${oldKey.id} Inactive, ${newKey.id} Active`)
    mismatch(`${userName} after the window: ${keys}`);
  iam.destroy();
}

async function keysOf(iam: IAMClient, userName: string): Promise<string> {
  const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return AccessKeyMetadata.map((key) => `${key.AccessKeyId} ${key.Status}`).join(', ');
}

interface Checked {
  readonly outcome: string;
  readonly lines: readonly string[];
}

/** What a finding says of the rotation: the in-use reason, and each key's usage evidence. */
function findingLines(finding: {
  ProductFields?: Record<string, string>;
  Compliance?: unknown;
  Title?: string;
}) {
  const fields = finding.ProductFields ?? {};
  const reasons = (finding.Compliance as { StatusReasons?: { ReasonCode?: string; Description?: string }[] })
    ?.StatusReasons;
  const inUse = reasons?.find((r) => r.ReasonCode === 'KEY_IN_USE');
  return [
    `finding: ${finding.Title}`,
    ...(inUse ? [`KEY_IN_USE: ${inUse.Description}`] : []),
    ...['key1', 'key2'].flatMap((key) =>
      fields[`keywarden/detector/${key}/usage`]
        ? [`${fields[`keywarden/detector/${key}/accessKeyId`]}: ${fields[`keywarden/detector/${key}/usage`]}`]
        : [],
    ),
  ];
}

/** The detector (deactivate mode, the default window) and the sweep's check of one user, 25 hours on. */
async function keyWardenFor(accountId: string) {
  const { createDetector } = await import('../../functions/detector/handler.ts');
  const { createClients } = await import('../../functions/adapters/clients.ts');
  const { loadConfig } = await import('../../functions/shared/config.ts');
  const { createLogger } = await import('../../functions/shared/logger.ts');
  const { checkUser } = await import('../../functions/engine/check-user.ts');
  const { createIamPort } = await import('../../functions/adapters/iam.ts');
  const { createFindingsPort } = await import('../../functions/adapters/securityhub.ts');
  const { lazyUsageEventsPort } = await import('../../functions/adapters/usage-ports.ts');
  const { monotonicClock } = await import('../../functions/shared/clock.ts');
  const config = loadConfig({ ...process.env, REMEDIATION_MODE: 'deactivate' });
  const clients = createClients();
  const account = { accountId, partition: 'aws', region: EMULATOR_REGION };
  const handleCreate = async (userName: string, accessKeyId: string): Promise<Checked> => {
    const detector = createDetector({ config, clients, logger: createLogger('keywarden-demo', 'SILENT') });
    const call = {
      eventName: 'CreateAccessKey' as const,
      userName,
      accessKeyId,
      accountId,
      region: EMULATOR_REGION,
      actorUserName: userName,
      eventTime: new Date(),
      eventId: `00000000-0000-4000-8002-${Date.now().toString().padStart(12, '0').slice(-12)}`,
    };
    const context = {
      invokedFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:${accountId}:function:keywarden-detector`,
      awsRequestId: 'demo-rotation',
    };
    const result = (await detector(keyEventEnvelope(call, 'demo-rotation'), context)) as {
      verdict?: string;
      action?: string;
    };
    const finding = await findingOf(createFindingsPort(clients.securityHub, account), account, userName);
    return { outcome: `${result.verdict}, action ${result.action}`, lines: findingLines(finding ?? {}) };
  };
  const checkLater = async (userName: string): Promise<Checked> => {
    const clock = monotonicClock(() => Date.now() + 25 * HOUR_MS);
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    const result = await checkUser(
      {
        iam: createIamPort(clients.iam),
        findings: createFindingsPort(clients.securityHub, account),
        clock,
        sleep,
        usageEvents: lazyUsageEventsPort(clients, { clock, sleep }),
      },
      { ...config, importFindings: true },
      account,
      { userName, trigger: { kind: 'sweep', origin: 'schedule' } },
    );
    return {
      outcome: `${result.verdict}, action ${result.action.kind}`,
      lines: result.finding ? findingLines(result.finding as never) : [],
    };
  };
  return { handleCreate, checkLater };
}

async function findingOf(
  findings: { getFinding(productArn: string, id: string): Promise<unknown> },
  account: { accountId: string; partition: string; region: string },
  userName: string,
) {
  const { findingIdFor, productArnFor } = await import('../../functions/core/finding.ts');
  return (await findings.getFinding(productArnFor(account), findingIdFor(account.accountId, userName))) as
    | { ProductFields?: Record<string, string>; Compliance?: unknown; Title?: string }
    | undefined;
}
