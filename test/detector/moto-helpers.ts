/**
 * Set-up and inspection of moto for the detector's integration tests. These calls go to moto directly, never
 * through the counting proxy, so they never count as the detector's calls.
 */

import { randomBytes } from 'node:crypto';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { vi } from 'vitest';
import { WARM_UP } from '../../functions/adapters/warm-up.ts';
import { type Finding, findingIdFor } from '../../functions/core/finding.ts';
import { threatFindingIdFor } from '../../functions/core/threat-finding.ts';
import { CANARY_TAG_KEY, CANARY_USER_NAME, type KeyEventName } from '../../functions/shared/constants.ts';

export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';
export const LAMBDA_CONTEXT = {
  invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:keywarden-detector`,
  awsRequestId: 'test-request',
};
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Points every SDK client created from now on at `endpoint`; undo with vi.unstubAllEnvs(). */
export function pointSdkAt(endpoint: string, extra: Record<string, string> = {}): void {
  vi.stubEnv('AWS_ENDPOINT_URL', endpoint);
  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  for (const [name, value] of Object.entries(extra)) vi.stubEnv(name, value);
}

export interface MotoKey {
  readonly id: string;
  readonly status: string;
  readonly createDate: Date;
}

export interface CreatedKey {
  readonly id: string;
  readonly secret: string;
}

/** Findings every SecurityHubClient sent with BatchImportFindings, in order (the detector's and nobody else's). */
export function recordImports(): { readonly findings: Finding[] } {
  const findings: Finding[] = [];
  const send = SecurityHubClient.prototype.send;
  vi.spyOn(SecurityHubClient.prototype, 'send').mockImplementation(function (
    this: SecurityHubClient,
    ...args: unknown[]
  ) {
    const [command] = args;
    // Left out: the handler module's init-time priming finding for the canned account, answered in-process.
    if (command instanceof BatchImportFindingsCommand)
      findings.push(...(command.input.Findings ?? []).filter((f) => f.AwsAccountId !== WARM_UP.accountId));
    return (send as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof send);
  return { findings };
}

const SQS_HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  // moto routes by the service in the credential scope; it does not check the signature.
  authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
};

export class MotoAdmin {
  readonly iam: IAMClient;
  readonly securityHub: SecurityHubClient;
  readonly eventBridge: EventBridgeClient;
  private readonly run = randomBytes(3).toString('hex');
  private counter = 0;

  constructor(readonly endpoint: string) {
    const settings = { endpoint, region: REGION, credentials: CREDENTIALS };
    this.iam = new IAMClient(settings);
    this.securityHub = new SecurityHubClient(settings);
    this.eventBridge = new EventBridgeClient(settings);
  }

  /** A user name unique across test files and runs sharing this moto. */
  uniqueName(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${this.run}-${this.counter}`.slice(0, 64);
  }

  async createUser(userName: string, options: { path?: string; tags?: Record<string, string> } = {}) {
    const { User } = await this.iam.send(
      new CreateUserCommand({
        UserName: userName,
        Path: options.path,
        Tags: Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return User;
  }

  async createKey(userName: string): Promise<CreatedKey> {
    const { AccessKey } = await this.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    return { id: AccessKey?.AccessKeyId ?? '', secret: AccessKey?.SecretAccessKey ?? '' };
  }

  /** A user with `count` active keys, created in order (the last is the newest). */
  async userWithKeys(userName: string, count: number, options: Parameters<MotoAdmin['createUser']>[1] = {}) {
    await this.createUser(userName, options);
    const keys: CreatedKey[] = [];
    for (let i = 0; i < count; i++) keys.push(await this.createKey(userName));
    return keys;
  }

  /** A user with an old and a new active key. */
  async pair(
    userName: string,
    options: Parameters<MotoAdmin['createUser']>[1] = {},
  ): Promise<[CreatedKey, CreatedKey]> {
    await this.createUser(userName, options);
    const oldKey = await this.createKey(userName);
    // Distinct creation times (moto keeps milliseconds), so "newest" never falls back to the id order.
    await new Promise((resolve) => setTimeout(resolve, 3));
    return [oldKey, await this.createKey(userName)];
  }

  /** A user with one active key. */
  async single(userName: string): Promise<CreatedKey> {
    await this.createUser(userName);
    return this.createKey(userName);
  }

  async keysOf(userName: string): Promise<MotoKey[]> {
    const { AccessKeyMetadata = [] } = await this.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return AccessKeyMetadata.map((key) => ({
      id: key.AccessKeyId ?? '',
      status: key.Status ?? '',
      createDate: key.CreateDate ?? new Date(0),
    }));
  }

  async statusOf(userName: string): Promise<Record<string, string>> {
    return Object.fromEntries((await this.keysOf(userName)).map((k) => [k.id, k.status]));
  }

  async setStatus(userName: string, accessKeyId: string, status: 'Active' | 'Inactive'): Promise<void> {
    await this.iam.send(
      new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: status }),
    );
  }

  async deleteKey(userName: string, accessKeyId: string): Promise<void> {
    await this.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
  }

  async deleteUser(userName: string): Promise<void> {
    for (const key of await this.keysOf(userName)) await this.deleteKey(userName, key.id);
    await this.iam.send(new DeleteUserCommand({ UserName: userName }));
  }

  /** Signs a request with the key, so IAM records its last use (service sts, this region). */
  async use(key: CreatedKey): Promise<void> {
    const sts = new STSClient({
      endpoint: this.endpoint,
      region: REGION,
      credentials: { accessKeyId: key.id, secretAccessKey: key.secret },
    });
    await sts.send(new GetCallerIdentityCommand({}));
  }

  /** Creates a key as the user itself (no UserName: IAM acts on the caller), signed with `as`. */
  async createOwnKey(as: CreatedKey): Promise<CreatedKey & { userName: string }> {
    const iam = new IAMClient({
      endpoint: this.endpoint,
      region: REGION,
      credentials: { accessKeyId: as.id, secretAccessKey: as.secret },
    });
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({}));
    return {
      id: AccessKey?.AccessKeyId ?? '',
      secret: AccessKey?.SecretAccessKey ?? '',
      userName: AccessKey?.UserName ?? '',
    };
  }

  /** Every stored finding with the user's finding Id (moto ignores GetFindings filters, so this checks). */
  findingsOf(userName: string): Promise<Finding[]> {
    return this.findingsById(findingIdFor(ACCOUNT_ID, userName));
  }

  /** Every stored finding with this Id. */
  async findingsById(id: string): Promise<Finding[]> {
    const found: Finding[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.securityHub.send(
        new GetFindingsCommand({ MaxResults: 100, NextToken: nextToken }),
      );
      found.push(...(page.Findings ?? []).filter((finding) => finding.Id === id));
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    return found;
  }

  /** Every stored threat finding of this key (one per key, or none). */
  threatFindingsOf(accessKeyId: string): Promise<Finding[]> {
    return this.findingsById(threatFindingIdFor(ACCOUNT_ID, accessKeyId));
  }

  async findingOf(userName: string): Promise<Finding> {
    const [finding, ...more] = await this.findingsOf(userName);
    if (finding === undefined) throw new Error(`no finding for ${userName}`);
    if (more.length > 0) throw new Error(`${more.length + 1} findings for ${userName}`);
    return finding;
  }

  private async sqs(operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(this.endpoint, {
      method: 'POST',
      headers: { ...SQS_HEADERS, 'x-amz-target': `AmazonSQS.${operation}` },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`SQS ${operation}: ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, unknown>;
  }

  /** A custom bus whose rule sends every `keywarden` event to an SQS queue; `receive` drains the queue. */
  async notificationBus(): Promise<{ busName: string; receive: () => Promise<NotificationEvent[]> }> {
    const busName = this.uniqueName('kw-detector-bus');
    const queueName = this.uniqueName('kw-detector-queue');
    await this.eventBridge.send(new CreateEventBusCommand({ Name: busName }));
    await this.eventBridge.send(
      new PutRuleCommand({
        Name: 'keywarden-notifications',
        EventBusName: busName,
        EventPattern: JSON.stringify({ source: ['keywarden'] }),
      }),
    );
    const { QueueUrl } = (await this.sqs('CreateQueue', { QueueName: queueName })) as { QueueUrl: string };
    await this.eventBridge.send(
      new PutTargetsCommand({
        Rule: 'keywarden-notifications',
        EventBusName: busName,
        Targets: [{ Id: 'queue', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${queueName}` }],
      }),
    );
    return {
      busName,
      receive: async () => {
        const events: NotificationEvent[] = [];
        for (;;) {
          const { Messages = [] } = (await this.sqs('ReceiveMessage', {
            QueueUrl,
            MaxNumberOfMessages: 10,
          })) as { Messages?: { Body: string; ReceiptHandle: string }[] };
          if (Messages.length === 0) return events;
          for (const message of Messages) {
            events.push(JSON.parse(message.Body) as NotificationEvent);
            await this.sqs('DeleteMessage', { QueueUrl, ReceiptHandle: message.ReceiptHandle });
          }
        }
      },
    };
  }
}

export interface NotificationEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: Record<string, unknown>;
}

export interface KeyEventOptions {
  readonly eventName?: KeyEventName;
  /** The target; omitted from the request and the response when `omitUserName` is set. */
  readonly userName: string;
  readonly accessKeyId?: string;
  readonly status?: 'Active' | 'Inactive';
  readonly omitUserName?: boolean;
  /** Default: the user itself (selfCaller). */
  readonly caller?: {
    readonly type: string;
    readonly userName?: string;
    readonly arn: string;
    /** For a role session: the role (`sessionContext.sessionIssuer.arn`). */
    readonly issuerArn?: string;
  };
  readonly userAgent?: string;
  readonly eventId?: string;
  readonly errorCode?: string;
}

let eventCounter = 0;

/** The key's own IAM user as the caller (a self-service call). */
export function selfCaller(userName: string): NonNullable<KeyEventOptions['caller']> {
  return { type: 'IAMUser', userName, arn: `arn:aws:iam::${ACCOUNT_ID}:user/${userName}` };
}

/** Another IAM user of the account as the caller (MITRE ATT&CK T1098.001 when it mints a key for someone else). */
export const ADMIN_CALLER: NonNullable<KeyEventOptions['caller']> = {
  type: 'IAMUser',
  userName: 'admin',
  arn: `arn:aws:iam::${ACCOUNT_ID}:user/admin`,
};

/** An EventBridge "AWS API Call via CloudTrail" event as IAM would deliver it for this call. */
export function keyEvent(options: KeyEventOptions): Record<string, unknown> {
  const eventName = options.eventName ?? 'CreateAccessKey';
  // By default the user acts on its own keys (self-service): no threat finding, so the figures are the 1.13 ones.
  const caller = options.caller ?? selfCaller(options.userName);
  const named = options.omitUserName ? {} : { userName: options.userName };
  eventCounter += 1;
  const requestParameters =
    eventName === 'CreateAccessKey'
      ? named
      : { ...named, accessKeyId: options.accessKeyId, ...(options.status ? { status: options.status } : {}) };
  const responseElements =
    eventName === 'CreateAccessKey'
      ? {
          accessKey: {
            ...named,
            accessKeyId: options.accessKeyId,
            status: 'Active',
            createDate: 'Jun 1, 2026 12:00:00 PM',
          },
        }
      : null;
  return {
    version: '0',
    id: `evb-${eventCounter}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: ACCOUNT_ID,
    time: new Date().toISOString(),
    region: REGION,
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: caller.type,
        principalId: 'AIDAADMIN000000000001',
        arn: caller.arn,
        accountId: ACCOUNT_ID,
        accessKeyId: 'AKIAADMIN00000000001',
        ...(caller.userName ? { userName: caller.userName } : {}),
        ...(caller.issuerArn
          ? {
              sessionContext: {
                sessionIssuer: { type: 'Role', arn: caller.issuerArn, accountId: ACCOUNT_ID },
              },
            }
          : {}),
      },
      eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'iam.amazonaws.com',
      eventName,
      awsRegion: REGION,
      sourceIPAddress: '203.0.113.7',
      userAgent: options.userAgent ?? 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64',
      requestParameters,
      responseElements,
      ...(options.errorCode ? { errorCode: options.errorCode, errorMessage: 'failed' } : {}),
      requestID: `req-${eventCounter}`,
      eventID: options.eventId ?? `event-${eventCounter}-${randomBytes(4).toString('hex')}`,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT_ID,
      eventCategory: 'Management',
    },
  };
}

/**
 * KeyWarden's canary as IAM would deliver it: a TagUser of the canary user setting the canary tag to `sentAt`, made
 * by a session of `issuerArn` (the sweep role, or the member role in a member).
 */
export function canaryEvent(
  issuerArn: string,
  sentAt: Date,
  accountId = ACCOUNT_ID,
): Record<string, unknown> {
  const event = keyEvent({
    userName: CANARY_USER_NAME,
    caller: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${accountId}:assumed-role/keywarden/keywarden-sweep`,
      issuerArn,
    },
  }) as { account: string; detail: Record<string, unknown> };
  event.account = accountId;
  Object.assign(event.detail, {
    eventName: 'TagUser',
    recipientAccountId: accountId,
    requestParameters: {
      userName: CANARY_USER_NAME,
      tags: [{ key: CANARY_TAG_KEY, value: sentAt.toISOString() }],
    },
    responseElements: null,
  });
  Object.assign(event.detail.userIdentity as Record<string, unknown>, { accountId });
  return event;
}
