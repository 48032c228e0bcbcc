/**
 * A moto server of its own that enforces IAM (test/support/moto_enforcing.py), with an administrator in each
 * account for the set-up, the roles of a template created as deployed, and sessions of those roles.
 *
 * How moto decides who may call: with INITIAL_NO_AUTH_ACTION_COUNT=N it serves the first N requests unchecked;
 * every later request must be signed with the key of an IAM user or the session of an assumed role that moto
 * holds, and is authorised against that principal's policies. The usual test credentials (`test`/`test`) are no
 * principal at all: after the first N requests moto answers them InvalidClientTokenId, root included. So the
 * first N requests here create, in each account, an administrator user (Action "*", Resource "*") and its key,
 * and every later set-up call is signed by that administrator.
 *
 * What moto does not do, and so is not checked here (the template tests check it instead):
 * - trust policies of a role in another account: AssumeRole across accounts is authorised only by the caller's
 *   own policy; within one account moto compares the caller's ARN with the Principal literally (and fails on a
 *   service principal), so a Lambda role is assumed from {@link SERVICE_ACCOUNT}, standing in for the service;
 * - conditions: only sts:ExternalId has a value; aws:ResourceOrgID, aws:PrincipalOrgID, aws:PrincipalArn,
 *   aws:SourceAccount, aws:SourceArn and aws:TagKeys match whatever the request;
 * - resource policies (the organization bus's policy, queue policies).
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { type AwsSecurityFinding, GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { vi } from 'vitest';
import { CANARY_USER_NAME } from '../../functions/shared/constants.ts';
import { type MotoServer, startMoto } from '../support/moto.ts';
import type { PolicyDocument, TemplateRole } from './template-roles.ts';

export const REGION = 'us-east-1';
/** The account whose administrator assumes the Lambda execution roles, as the Lambda service would. */
export const SERVICE_ACCOUNT = '100000000001';
/** A bucket for trails, created among the first requests (moto checks that a trail's bucket exists). */
export const TRAIL_BUCKET = 'keywarden-enforced-trail';
const REQUESTS_PER_ADMINISTRATOR = 3;

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** One authorisation decision of moto. */
export interface Decision {
  readonly principal: string | null;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
}

export interface AdminClients {
  readonly credentials: Credentials;
  readonly iam: IAMClient;
  readonly sts: STSClient;
  readonly securityHub: SecurityHubClient;
  readonly eventBridge: EventBridgeClient;
  readonly cloudTrail: CloudTrailClient;
  readonly organizations: OrganizationsClient;
}

function inAccount<C extends { middlewareStack: IAMClient['middlewareStack'] }>(
  client: C,
  accountId: string,
): C {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

const ADMIN_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

export class EnforcedAws {
  private readonly admins = new Map<string, AdminClients>();

  private constructor(
    private readonly moto: MotoServer,
    private readonly directory: string,
  ) {}

  get endpoint(): string {
    return this.moto.endpoint;
  }

  private get logFile(): string {
    return path.join(this.directory, 'authorizations.jsonl');
  }

  /** Starts the server and, within its unchecked requests, an administrator in each of `accountIds`. */
  static async start(
    accountIds: readonly string[],
    options: { readonly trailBucketAccount?: string } = {},
  ): Promise<EnforcedAws> {
    const accounts = [...new Set([...accountIds, SERVICE_ACCOUNT])];
    const directory = mkdtempSync(path.join(tmpdir(), 'keywarden-enforced-'));
    const moto = await startMoto({
      enforceIam: {
        initialNoAuthActionCount: accounts.length * REQUESTS_PER_ADMINISTRATOR + 1,
        authorizationLog: path.join(directory, 'authorizations.jsonl'),
      },
    });
    const aws = new EnforcedAws(moto, directory);
    try {
      for (const accountId of accounts) await aws.bootstrap(accountId);
      // The last unchecked request; S3 is not one KeyWarden calls.
      const bucket = await fetch(`${moto.endpoint}/${TRAIL_BUCKET}`, {
        method: 'PUT',
        headers: { 'x-moto-account-id': options.trailBucketAccount ?? accountIds[0] ?? SERVICE_ACCOUNT },
      });
      if (!bucket.ok) throw new Error(`creating bucket ${TRAIL_BUCKET} answered ${bucket.status}`);
    } catch (error) {
      await aws.stop();
      throw error;
    }
    return aws;
  }

  private async bootstrap(accountId: string): Promise<void> {
    const unchecked = inAccount(
      new IAMClient({
        endpoint: this.endpoint,
        region: REGION,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
      }),
      accountId,
    );
    const UserName = 'keywarden-test-admin';
    await unchecked.send(new CreateUserCommand({ UserName }));
    await unchecked.send(
      new PutUserPolicyCommand({
        UserName,
        PolicyName: 'everything',
        PolicyDocument: JSON.stringify(ADMIN_POLICY),
      }),
    );
    const { AccessKey } = await unchecked.send(new CreateAccessKeyCommand({ UserName }));
    this.admins.set(
      accountId,
      this.clientsFor({
        accessKeyId: AccessKey?.AccessKeyId as string,
        secretAccessKey: AccessKey?.SecretAccessKey as string,
      }),
    );
  }

  /** Clients signing with `credentials`, against this server (moto routes by the key, to its account). */
  clientsFor(credentials: Credentials, region = REGION): AdminClients {
    const settings = { endpoint: this.endpoint, region, credentials, maxAttempts: 1 };
    return {
      credentials,
      iam: new IAMClient(settings),
      sts: new STSClient(settings),
      securityHub: new SecurityHubClient(settings),
      eventBridge: new EventBridgeClient(settings),
      cloudTrail: new CloudTrailClient(settings),
      organizations: new OrganizationsClient(settings),
    };
  }

  /** The administrator of `accountId`. */
  admin(accountId: string): AdminClients {
    const admin = this.admins.get(accountId);
    if (admin === undefined) throw new Error(`no administrator in ${accountId}; list it in start()`);
    return admin;
  }

  /** Creates `role` in `accountId` as the template deploys it: its trust policy and each of its policies. */
  async createRole(accountId: string, role: TemplateRole): Promise<void> {
    const { iam } = this.admin(accountId);
    await iam.send(
      new CreateRoleCommand({
        RoleName: role.roleName,
        AssumeRolePolicyDocument: JSON.stringify(role.trustPolicy),
      }),
    );
    await this.setPolicies(accountId, role.roleName, role.policies);
  }

  /** Replaces every inline policy of `roleName` with `policies`. */
  async setPolicies(
    accountId: string,
    roleName: string,
    policies: Readonly<Record<string, PolicyDocument>>,
  ): Promise<void> {
    const { iam } = this.admin(accountId);
    const { PolicyNames = [] } = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
    // A policy left with no statement cannot be put: the role goes without it.
    const kept = Object.fromEntries(
      Object.entries(policies).filter(([, document]) => document.Statement.length > 0),
    );
    for (const PolicyName of PolicyNames) {
      if (!(PolicyName in kept))
        await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName }));
    }
    for (const [PolicyName, document] of Object.entries(kept)) {
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName,
          PolicyDocument: JSON.stringify(document),
        }),
      );
    }
  }

  /** A session of `roleArn`, assumed with `as` (default: the administrator of {@link SERVICE_ACCOUNT}). */
  async session(roleArn: string, sessionName: string, as?: Credentials): Promise<Credentials> {
    const sts = as === undefined ? this.admin(SERVICE_ACCOUNT).sts : this.clientsFor(as).sts;
    const { Credentials: session } = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }),
    );
    return {
      accessKeyId: session?.AccessKeyId as string,
      secretAccessKey: session?.SecretAccessKey as string,
      sessionToken: session?.SessionToken as string,
    };
  }

  /** The findings of `accountId`'s hub with `id`, every page read (moto ignores GetFindings filters). */
  async findingsById(accountId: string, id: string): Promise<AwsSecurityFinding[]> {
    const found: AwsSecurityFinding[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.admin(accountId).securityHub.send(
        new GetFindingsCommand({ MaxResults: 100, NextToken }),
      );
      found.push(...(page.Findings ?? []).filter((finding) => finding.Id === id));
      NextToken = page.NextToken || undefined;
    } while (NextToken !== undefined);
    return found;
  }

  /** Every decision so far, in order. */
  decisions(): Decision[] {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Decision);
  }

  /**
   * Runs `work` with the SDK's default credential chain, region and endpoint set to `credentials` and this
   * server (as the Lambda runtime or a shell would), and returns what it returned with the decisions it caused.
   */
  async as<T>(
    credentials: Credentials,
    work: () => Promise<T>,
  ): Promise<{ value: T; decisions: Decision[] }> {
    const before = this.decisions().length;
    vi.stubEnv('AWS_ENDPOINT_URL', this.endpoint);
    vi.stubEnv('AWS_REGION', REGION);
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    if (credentials.sessionToken !== undefined) vi.stubEnv('AWS_SESSION_TOKEN', credentials.sessionToken);
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    try {
      const value = await work();
      return { value, decisions: this.decisions().slice(before) };
    } finally {
      vi.unstubAllEnvs();
    }
  }

  async stop(): Promise<void> {
    await this.moto.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/** The role name of an assumed-role principal (`arn:…:sts::<account>:assumed-role/<role>/<session>`). */
export function roleOfPrincipal(principal: string | null): string | undefined {
  return /:assumed-role\/([^/]+)\//.exec(principal ?? '')?.[1];
}

/**
 * What the stacks deploy for the canary and the enforced runs need: the canary user in each of `accountIds`, and in
 * `tableAccount` the canary table of each function environment (CANARY_TABLE_NAME).
 */
export async function createCanaryWorld(
  aws: EnforcedAws,
  tableAccount: string,
  environments: readonly Readonly<Record<string, string>>[],
  accountIds: readonly string[] = [tableAccount],
): Promise<void> {
  for (const accountId of accountIds) {
    await aws.admin(accountId).iam.send(new CreateUserCommand({ UserName: CANARY_USER_NAME }));
  }
  const names = new Set(
    environments.flatMap((env) => (env.CANARY_TABLE_NAME ? [env.CANARY_TABLE_NAME] : [])),
  );
  const dynamodb = new DynamoDBClient({
    endpoint: aws.endpoint,
    region: REGION,
    credentials: aws.admin(tableAccount).credentials,
    maxAttempts: 1,
  });
  for (const TableName of names) {
    await dynamodb.send(
      new CreateTableCommand({
        TableName,
        KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
}
