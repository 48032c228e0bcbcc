/**
 * A moto server of the test file's own, behind the counting proxy. A sweep reads every user and finding of the
 * account, so it cannot share the run-wide server with other files' users (and must never remediate them).
 */

import { spawn } from 'node:child_process';
import {
  type AdvancedEventSelector,
  CloudTrailClient,
  CreateTrailCommand,
  type EventSelector,
  PutEventSelectorsCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { type AwsSecurityFinding, GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { AwsClients } from '../../functions/adapters/clients.ts';
import { type CloudTrailPort, createCloudTrailPort } from '../../functions/adapters/cloudtrail.ts';
import { GENERATOR_ID } from '../../functions/core/finding.ts';
import { mapBounded } from '../../functions/sweep/concurrency.ts';
import { type AwsProxy, startAwsProxy } from '../support/aws-proxy.ts';
import { type MotoServer, startMoto } from '../support/moto.ts';

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '123456789012';
export const CONTEXT = {
  invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:keywarden-sweep`,
};
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface UserSpec {
  readonly userName: string;
  readonly path?: string;
  readonly tags?: Record<string, string>;
  readonly activeKeys?: number;
  readonly inactiveKeys?: number;
}

export interface TrailSpec {
  readonly name: string;
  /** Default us-east-1. */
  readonly region?: string;
  readonly multiRegion?: boolean;
  readonly organization?: boolean;
  readonly logging?: boolean;
  /**
   * Moto gives a new trail no selectors, where AWS gives the default (all management events), so a spec
   * always sets them: default one basic selector, ReadWriteType All with management events.
   */
  readonly eventSelectors?: EventSelector[];
  readonly advancedEventSelectors?: AdvancedEventSelector[];
}

export interface IsolatedAws {
  readonly moto: MotoServer;
  readonly proxy: AwsProxy;
  /** Straight to moto: seeding and checks are not counted. */
  readonly iam: IAMClient;
  readonly securityHub: SecurityHubClient;
  /** Clients for the code under test, through the proxy. */
  clients(options?: { maxAttempts?: number }): AwsClients;
  /** The blind-path check's CloudTrail reads, through the proxy. */
  cloudTrail(options?: { maxAttempts?: number }): CloudTrailPort;
  /** Creates a trail (and its bucket) straight in moto. */
  createTrail(spec: TrailSpec): Promise<string>;
  seed(users: readonly UserSpec[]): Promise<Map<string, string[]>>;
  deleteUser(userName: string): Promise<void>;
  deactivateOneKey(userName: string): Promise<void>;
  /** This generator's findings, newest state, by Id. */
  findings(): Promise<Map<string, AwsSecurityFinding>>;
  /** Empties this file's own moto server (never the run-wide one) and the proxy's counts and faults. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startIsolatedAws(): Promise<IsolatedAws> {
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint);
  const direct = { endpoint: moto.endpoint, region: REGION, credentials: CREDENTIALS };
  const iam = new IAMClient(direct);
  const securityHub = new SecurityHubClient(direct);

  async function seedUser(spec: UserSpec): Promise<string[]> {
    const tags = Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    await iam.send(
      new CreateUserCommand({
        UserName: spec.userName,
        Path: spec.path ?? '/',
        ...(tags.length ? { Tags: tags } : {}),
      }),
    );
    const ids: string[] = [];
    const total = (spec.activeKeys ?? 0) + (spec.inactiveKeys ?? 0);
    for (let i = 0; i < total; i++) {
      const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: spec.userName }));
      ids.push(AccessKey?.AccessKeyId as string);
    }
    for (const id of ids.slice(spec.activeKeys ?? 0)) {
      await iam.send(
        new UpdateAccessKeyCommand({ UserName: spec.userName, AccessKeyId: id, Status: 'Inactive' }),
      );
    }
    return ids;
  }

  return {
    moto,
    proxy,
    iam,
    securityHub,
    clients(options = {}) {
      const settings = {
        endpoint: proxy.endpoint,
        region: REGION,
        credentials: CREDENTIALS,
        maxAttempts: options.maxAttempts ?? 2,
      };
      return {
        iam: new IAMClient(settings),
        securityHub: new SecurityHubClient(settings),
        eventBridge: new EventBridgeClient(settings),
      };
    },
    cloudTrail(options = {}) {
      const clients = new Map<string, CloudTrailClient>();
      return createCloudTrailPort((region) => {
        let client = clients.get(region);
        if (client === undefined) {
          client = new CloudTrailClient({
            endpoint: proxy.endpoint,
            region,
            credentials: CREDENTIALS,
            maxAttempts: options.maxAttempts ?? 2,
          });
          clients.set(region, client);
        }
        return client;
      });
    },
    async createTrail(spec) {
      const region = spec.region ?? REGION;
      const bucket = `trail-bucket-${spec.name.toLowerCase()}`;
      // moto checks the bucket exists; an unsigned path-style PUT creates it.
      const created = await fetch(`${moto.endpoint}/${bucket}`, { method: 'PUT' });
      if (!created.ok) throw new Error(`creating bucket ${bucket} answered ${created.status}`);
      const cloudTrail = new CloudTrailClient({ ...direct, region });
      const { TrailARN } = await cloudTrail.send(
        new CreateTrailCommand({
          Name: spec.name,
          S3BucketName: bucket,
          IsMultiRegionTrail: spec.multiRegion ?? false,
          IsOrganizationTrail: spec.organization ?? false,
          IncludeGlobalServiceEvents: true,
        }),
      );
      await cloudTrail.send(
        new PutEventSelectorsCommand({
          TrailName: spec.name,
          ...(spec.advancedEventSelectors
            ? { AdvancedEventSelectors: spec.advancedEventSelectors }
            : {
                EventSelectors: spec.eventSelectors ?? [
                  { ReadWriteType: 'All', IncludeManagementEvents: true },
                ],
              }),
        }),
      );
      if (spec.logging ?? true) await cloudTrail.send(new StartLoggingCommand({ Name: spec.name }));
      return TrailARN as string;
    },
    async seed(users) {
      // moto answers one request at a time; a few in flight keep both sides busy.
      const settled = await mapBounded(users, 4, seedUser);
      const keys = new Map<string, string[]>();
      settled.forEach((outcome, index) => {
        if (!outcome?.ok) throw outcome?.error ?? new Error('seeding stopped');
        keys.set((users[index] as UserSpec).userName, outcome.value);
      });
      return keys;
    },
    async deleteUser(userName) {
      const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      for (const key of AccessKeyMetadata) {
        await iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: key.AccessKeyId }));
      }
      await iam.send(new DeleteUserCommand({ UserName: userName }));
    },
    async deactivateOneKey(userName) {
      const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      const active = AccessKeyMetadata.find((key) => key.Status === 'Active');
      await iam.send(
        new UpdateAccessKeyCommand({
          UserName: userName,
          AccessKeyId: active?.AccessKeyId,
          Status: 'Inactive',
        }),
      );
    },
    async findings() {
      const byId = new Map<string, AwsSecurityFinding>();
      let NextToken: string | undefined;
      do {
        const page = await securityHub.send(new GetFindingsCommand({ MaxResults: 100, NextToken }));
        for (const finding of page.Findings ?? []) {
          if (finding.GeneratorId === GENERATOR_ID && finding.Id) byId.set(finding.Id, finding);
        }
        NextToken = page.NextToken || undefined;
      } while (NextToken);
      return byId;
    },
    async reset() {
      const response = await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
      proxy.reset();
      proxy.clearFaults();
      proxy.clearTrail();
    },
    async stop() {
      await proxy.close();
      await moto.stop();
    },
  };
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end with the given environment added to a clean AWS one. */
export function run(
  command: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const base: Record<string, string | undefined> = { ...process.env };
    for (const name of Object.keys(base)) if (name.startsWith('AWS_')) delete base[name];
    const child = spawn(command, [...args], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: {
        ...base,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: REGION,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        ...env,
      } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The IAM calls the proxy saw, by operation. */
export function iamCalls(proxy: AwsProxy): Record<string, number> {
  return Object.fromEntries(
    Object.entries(proxy.countsByOperation())
      .filter(([operation]) => operation.startsWith('iam.'))
      .map(([operation, count]) => [operation.slice(4), count]),
  );
}
