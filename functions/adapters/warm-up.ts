/**
 * Pays at init what the first call through each SDK client would pay once: credential resolution, endpoint
 * resolution, the first run of the serialize → sign → deserialize code of each command and of whatever code the
 * caller primes with (every client answers from canned responses meanwhile), and the first run of the HTTP
 * client (against a loopback server in this process). No request goes to AWS.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { GetFindingsCommand } from '@aws-sdk/client-securityhub';
import type { AwsClients } from './clients.ts';

/** The user, account and keys the canned answers speak of. */
export const WARM_UP = {
  accountId: '000000000000',
  userName: 'keywarden-warm-up',
  /** Both active: the canned user violates the control, the path with the most code. */
  accessKeyIds: ['AKIAKEYWARDENWARMUP1', 'AKIAKEYWARDENWARMUP2'],
} as const;

const MIDDLEWARE_NAME = 'keywardenWarmUpResponse';
const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const CREATED = ['2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z'] as const;
const USER_ARN = `arn:aws:iam::${WARM_UP.accountId}:user/${WARM_UP.userName}`;

interface CannedResponse {
  readonly contentType: string;
  readonly body: string;
}

/** An IAM (awsQuery) response document. */
function iamXml(operation: string, result: string | undefined): CannedResponse {
  const inner = result === undefined ? '' : `<${operation}Result>${result}</${operation}Result>`;
  return {
    contentType: 'text/xml',
    body:
      `<${operation}Response xmlns="${IAM_XMLNS}">${inner}` +
      `<ResponseMetadata><RequestId>${WARM_UP.userName}</RequestId></ResponseMetadata></${operation}Response>`,
  };
}

const json = (body: unknown, contentType: string): CannedResponse => ({
  contentType,
  body: JSON.stringify(body),
});

const keyMember = (accessKeyId: string, index: number): string =>
  `<member><UserName>${WARM_UP.userName}</UserName><AccessKeyId>${accessKeyId}</AccessKeyId>` +
  `<Status>Active</Status><CreateDate>${CREATED[index] ?? CREATED[0]}</CreateDate></member>`;

/** The canned answer of each operation, by the SDK's command name. */
const CANNED: Readonly<Record<string, CannedResponse>> = {
  GetUserCommand: iamXml(
    'GetUser',
    `<User><Path>/</Path><UserName>${WARM_UP.userName}</UserName><UserId>AIDAKEYWARDENWARMUP00</UserId>` +
      `<Arn>${USER_ARN}</Arn><CreateDate>${CREATED[0]}</CreateDate>` +
      `<Tags><member><Key>team</Key><Value>keywarden</Value></member></Tags></User>`,
  ),
  ListAccessKeysCommand: iamXml(
    'ListAccessKeys',
    `<UserName>${WARM_UP.userName}</UserName><AccessKeyMetadata>${WARM_UP.accessKeyIds.map(keyMember).join('')}` +
      `</AccessKeyMetadata><IsTruncated>false</IsTruncated>`,
  ),
  GetAccessKeyLastUsedCommand: iamXml(
    'GetAccessKeyLastUsed',
    `<UserName>${WARM_UP.userName}</UserName><AccessKeyLastUsed><LastUsedDate>${CREATED[1]}</LastUsedDate>` +
      `<ServiceName>iam</ServiceName><Region>us-east-1</Region></AccessKeyLastUsed>`,
  ),
  UpdateAccessKeyCommand: iamXml('UpdateAccessKey', undefined),
  GetFindingsCommand: json({ Findings: [] }, 'application/json'),
  BatchImportFindingsCommand: json(
    { FailedCount: 0, SuccessCount: 1, FailedFindings: [] },
    'application/json',
  ),
  // Usage evidence: no event signed with the canned keys.
  LookupEventsCommand: json({ Events: [] }, 'application/x-amz-json-1.1'),
  PutEventsCommand: json(
    { FailedEntryCount: 0, Entries: [{ EventId: WARM_UP.userName }] },
    'application/x-amz-json-1.1',
  ),
};

export class NoCannedResponseError extends Error {
  constructor(readonly commandName: string) {
    super(`no canned response for ${commandName}: the warm-up sends nothing to AWS`);
    this.name = 'NoCannedResponseError';
  }
}

interface Stack {
  add(middleware: unknown, options: { step: 'deserialize'; priority: 'low'; name: string }): void;
  remove(name: string): boolean;
}

/**
 * Innermost step (after signing, where the HTTP handler would send): answers with the canned response of the
 * command, which the deserializer above it then parses as a real one.
 */
const cannedAnswer =
  () =>
  (_next: unknown, context: { commandName?: string }) =>
  async (): Promise<{ response: unknown; output: object }> => {
    const canned = CANNED[context.commandName ?? ''];
    if (canned === undefined) throw new NoCannedResponseError(context.commandName ?? '(unnamed)');
    return {
      response: {
        statusCode: 200,
        reason: 'OK',
        headers: { 'content-type': canned.contentType, 'x-amzn-requestid': WARM_UP.userName },
        body: Readable.from([Buffer.from(canned.body)]),
      },
      output: {},
    };
  };

/** A client of another service, primed alike (the usage evidence's CloudTrail client). */
export interface PrimedClient {
  readonly middlewareStack: unknown;
}

/**
 * Runs `run` while every client (and each of `extra`) answers from the canned responses; the clients are as before
 * afterwards.
 */
export async function withCannedResponses<T>(
  clients: AwsClients,
  run: () => Promise<T>,
  extra: readonly PrimedClient[] = [],
): Promise<T> {
  const stacks: Stack[] = [clients.iam, clients.securityHub, clients.eventBridge, ...extra].map(
    (client) => client.middlewareStack as unknown as Stack,
  );
  for (const stack of stacks) {
    stack.add(cannedAnswer(), { step: 'deserialize', priority: 'low', name: MIDDLEWARE_NAME });
  }
  try {
    return await run();
  } finally {
    for (const stack of stacks) stack.remove(MIDDLEWARE_NAME);
  }
}

interface RequestHandlerLike {
  handle(request: object): Promise<{ response: { body?: unknown } }>;
}

/**
 * One request through each client's HTTP handler (the SDK's, then Node's HTTP client and parser) to a loopback
 * server in this process: the transport code the canned answers skip, without a request to AWS. The loopback
 * connections are closed afterwards, so the AWS endpoints' own connections start clean.
 */
async function primeTransport(clients: AwsClients): Promise<void> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'text/xml' }).end('<ok/>'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    const { port } = server.address() as AddressInfo;
    for (const client of [clients.iam, clients.securityHub]) {
      const handler = client.config.requestHandler as unknown as RequestHandlerLike;
      const { response } = await handler.handle({
        protocol: 'http:',
        hostname: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        query: {},
        headers: { host: `127.0.0.1:${port}`, 'content-type': 'text/xml', 'content-length': '6' },
        body: '<ok/>\n',
      });
      for await (const _chunk of response.body as AsyncIterable<unknown>) {
        // Drained, so the socket is released.
      }
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface WarmUpOptions {
  /** Also send PutEvents (when a notification bus is configured). */
  readonly notifications?: boolean;
  /** Also send UpdateAccessKey (when remediation deactivates keys). */
  readonly deactivation?: boolean;
  /** Code to run once on the canned answers, e.g. the handler on an event about the canned user. */
  readonly prime?: () => Promise<unknown>;
  /** Environment to read; credentials are resolved only when the environment holds them (as on Lambda). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Clients of other services that `prime` reaches, answered from the canned responses too. */
  readonly extraClients?: readonly PrimedClient[];
}

/**
 * Runs `prime` and a call of each command it may not reach on the canned answers. Never throws and never
 * reaches the network: without credentials in the environment (a local run relying on a profile or the
 * instance metadata service) it does nothing, and a failure leaves the first event to pay as before.
 * Resolves to whether everything ran.
 */
export async function prepareClients(clients: AwsClients, options: WarmUpOptions = {}): Promise<boolean> {
  const env = options.env ?? process.env;
  // Lambda puts the execution role's credentials in the environment; another source may need the network.
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return false;
  try {
    await withCannedResponses(
      clients,
      async () => {
        await options.prime?.();
        // A violation reads no finding; a compliant event after a deactivation does.
        await clients.securityHub.send(
          new GetFindingsCommand({
            Filters: { Id: [{ Value: WARM_UP.userName, Comparison: 'EQUALS' }] },
            MaxResults: 100,
          }),
        );
        if (options.deactivation) {
          await clients.iam.send(
            new UpdateAccessKeyCommand({
              UserName: WARM_UP.userName,
              AccessKeyId: WARM_UP.accessKeyIds[0],
              Status: 'Inactive',
            }),
          );
        }
        if (options.notifications) {
          await clients.eventBridge.send(
            new PutEventsCommand({
              Entries: [{ Source: 'keywarden.warm-up', DetailType: 'warm-up', Detail: '{}' }],
            }),
          );
        }
      },
      options.extraClients,
    );
    await primeTransport(clients);
    return true;
  } catch {
    return false;
  }
}
