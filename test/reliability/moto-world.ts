/**
 * The real detector against moto with real SDK clients: the detector's traffic goes through the counting,
 * fault-injecting proxy; setup and inspection go to moto directly, so they are never counted.
 */

import { randomBytes } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  type UpdateAccessKeyCommandInput,
} from '@aws-sdk/client-iam';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { type AwsClients, createClients } from '../../functions/adapters/clients.ts';
import { type Finding, findingIdFor } from '../../functions/core/finding.ts';
import { createDetector, type DetectorResult } from '../../functions/detector/handler.ts';
import type { Config } from '../../functions/shared/config.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import { ACCOUNT_ID } from './arbitraries.ts';
import { captureOutput, detectorConfig, fuzzLogger, LAMBDA_CONTEXT, type Settled } from './mock-harness.ts';

export const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Points every SDK client built from now on (createClients included) at `endpoint`, with dummy credentials. */
export function useEndpoint(endpoint: string): () => void {
  const saved = { ...process.env };
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = REGION;
  return () => {
    for (const name of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  };
}

export interface MotoKey {
  readonly id: string;
  readonly status: string;
  readonly createDate: Date;
}

export interface MotoWorld {
  readonly proxy: AwsProxy;
  readonly admin: { readonly iam: IAMClient; readonly securityHub: SecurityHubClient };
  /** A unique user name with this prefix. */
  userName(prefix: string): string;
  /** Creates a user with `keys` active access keys (created in order, so the last is the newest). */
  createUser(userName: string, keys: number): Promise<MotoKey[]>;
  keysOf(userName: string): Promise<MotoKey[]>;
  /** The stored findings with this user's finding Id (moto ignores GetFindings filters: checked here). */
  findingsOf(userName: string): Promise<Finding[]>;
  close(): Promise<void>;
}

export async function startMotoWorld(motoEndpoint: string, file: string): Promise<MotoWorld> {
  // Security Hub answers a GetFindings by Id with those findings alone (moto pages through all the run stored).
  const proxy = await startAwsProxy(motoEndpoint, { filterFindingsById: true });
  const admin = {
    iam: new IAMClient({ endpoint: motoEndpoint, region: REGION, credentials: CREDENTIALS }),
    securityHub: new SecurityHubClient({ endpoint: motoEndpoint, region: REGION, credentials: CREDENTIALS }),
  };
  const run = randomBytes(4).toString('hex');
  let counter = 0;

  async function keysOf(userName: string): Promise<MotoKey[]> {
    const { AccessKeyMetadata = [] } = await admin.iam.send(
      new ListAccessKeysCommand({ UserName: userName }),
    );
    return AccessKeyMetadata.map((key) => ({
      id: key.AccessKeyId ?? '',
      status: key.Status ?? '',
      createDate: key.CreateDate ?? new Date(0),
    }));
  }

  return {
    proxy,
    admin,
    userName: (prefix) => `${file}-${prefix}-${run}-${++counter}`.slice(0, 64),
    async createUser(userName, keys) {
      await admin.iam.send(new CreateUserCommand({ UserName: userName }));
      for (let index = 0; index < keys; index++) {
        await admin.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
      }
      return keysOf(userName);
    },
    keysOf,
    async findingsOf(userName) {
      const id = findingIdFor(ACCOUNT_ID, userName);
      const found: Finding[] = [];
      let nextToken: string | undefined;
      do {
        const page = await admin.securityHub.send(
          new GetFindingsCommand({ MaxResults: 100, NextToken: nextToken }),
        );
        found.push(...(page.Findings ?? []).filter((finding) => finding.Id === id));
        nextToken = page.NextToken || undefined;
      } while (nextToken !== undefined);
      return found;
    },
    close: () => proxy.close(),
  };
}

/** The key a correct engine keeps under KEEP_KEY=newest: latest CreateDate, then highest id. */
export function newestKey(keys: readonly MotoKey[]): MotoKey {
  const sorted = [...keys].sort(
    (a, b) => a.createDate.getTime() - b.createDate.getTime() || a.id.localeCompare(b.id),
  );
  const newest = sorted[sorted.length - 1];
  if (newest === undefined) throw new Error('no keys');
  return newest;
}

/** Ids of the keys IAM lists as active. */
export const activeIds = (keys: readonly MotoKey[]): string[] =>
  keys.filter((key) => key.status === 'Active').map((key) => key.id);

/** A new user with two active keys: the one the default policy keeps, and the surplus one. */
export async function violatingUser(world: MotoWorld, prefix: string) {
  const userName = world.userName(prefix);
  const keys = await world.createUser(userName, 2);
  const kept = newestKey(keys);
  const surplus = keys.find((key) => key.id !== kept.id) as MotoKey;
  return { userName, keys, kept, surplus };
}

export interface Detector {
  readonly clients: AwsClients;
  /** Every UpdateAccessKey this detector sent, as sent. */
  readonly updates: UpdateAccessKeyCommandInput[];
  deliver(event: unknown): Promise<{ settled: Settled<DetectorResult>; lines: string[] }>;
  deliverAll(events: readonly unknown[]): Promise<{ settled: Settled<DetectorResult>[]; lines: string[] }>;
}

/** A detector over `clients` (by default the production ones from createClients, through the proxy). */
export function startDetector(
  config: Partial<Config> = {},
  clients: AwsClients = createClients({ region: REGION }),
  factory: typeof createDetector = createDetector,
): Detector {
  const updates: UpdateAccessKeyCommandInput[] = [];
  const send = clients.iam.send.bind(clients.iam);
  // Records the write's input and passes it on unchanged.
  clients.iam.send = ((command: unknown, ...rest: unknown[]) => {
    if (command instanceof UpdateAccessKeyCommand) updates.push(command.input);
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof clients.iam.send;
  const handler = factory({
    config: {
      ...detectorConfig({ mode: 'deactivate', keepKey: 'newest', graceHours: 0, notify: false }),
      ...config,
    },
    clients,
    logger: fuzzLogger(),
    sleep: async () => {},
  });
  return {
    clients,
    updates,
    deliver: (event) => captureOutput(() => handler(event, LAMBDA_CONTEXT)),
    async deliverAll(events) {
      const { settled, lines } = await captureOutput(() =>
        Promise.all(
          events.map((event) =>
            handler(event, LAMBDA_CONTEXT).then(
              (value): Settled<DetectorResult> => ({ ok: true, value }),
              (error: unknown): Settled<DetectorResult> => ({ ok: false, error }),
            ),
          ),
        ),
      );
      if (!settled.ok) throw settled.error;
      return { settled: settled.value, lines };
    },
  };
}
