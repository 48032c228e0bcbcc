/**
 * Pays at init what the first call through each SDK client would pay once: credential resolution, endpoint
 * resolution, and the first run of the serialize → sign → deserialize code of each command the detector sends.
 * Each command is answered by a middleware with a canned response, so no request leaves the process.
 */

import { Readable } from 'node:stream';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { BatchImportFindingsCommand, GetFindingsCommand } from '@aws-sdk/client-securityhub';
import type { AwsClients } from './clients.ts';

const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const WARM_UP_ACCOUNT = '000000000000';
const WARM_UP_ARN = `arn:aws:iam::${WARM_UP_ACCOUNT}:user/keywarden-warm-up`;

/** An IAM (awsQuery) response document. */
const iamXml = (operation: string, result: string): string =>
  `<${operation}Response xmlns="${IAM_XMLNS}"><${operation}Result>${result}</${operation}Result>` +
  `<ResponseMetadata><RequestId>keywarden-warm-up</RequestId></ResponseMetadata></${operation}Response>`;

interface CannedResponse {
  readonly contentType: string;
  readonly body: string;
}

interface Sendable {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'deserialize'; priority: 'low'; name: string }): void;
  };
}

/**
 * Adds to the command's own stack, innermost (after signing, before the transport), a step that answers with
 * `canned` as the HTTP handler would: the deserializer above it parses the canned response as a real one.
 */
function answered<C extends Sendable>(command: C, canned: CannedResponse): C {
  command.middlewareStack.add(
    () => async () => ({
      response: {
        statusCode: 200,
        reason: 'OK',
        headers: { 'content-type': canned.contentType, 'x-amzn-requestid': 'keywarden-warm-up' },
        body: Readable.from([Buffer.from(canned.body)]),
      },
      output: {},
    }),
    { step: 'deserialize', priority: 'low', name: 'keywardenWarmUpResponse' },
  );
  return command;
}

const xml = (body: string): CannedResponse => ({ contentType: 'text/xml', body });
const json = (body: unknown, contentType = 'application/json'): CannedResponse => ({
  contentType,
  body: JSON.stringify(body),
});

export interface WarmUpOptions {
  /** Also run PutEvents (when a notification bus is configured). */
  readonly notifications?: boolean;
  /** Environment to read; credentials are resolved only when the environment holds them (as on Lambda). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Resolves each client's credentials and runs one canned call of every command through it. Never throws and
 * never reaches the network: without credentials in the environment (a local run relying on a profile or the
 * instance metadata service) it does nothing, and any failure leaves the first event to pay as before.
 */
export async function prepareClients(clients: AwsClients, options: WarmUpOptions = {}): Promise<boolean> {
  const env = options.env ?? process.env;
  // Lambda puts the execution role's credentials in the environment; another source may need the network.
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return false;
  const { iam, securityHub, eventBridge } = clients;
  const date = '2025-01-01T00:00:00Z';
  const calls: Promise<unknown>[] = [
    iam.send(
      answered(
        new GetUserCommand({ UserName: 'keywarden-warm-up' }),
        xml(
          iamXml(
            'GetUser',
            `<User><Path>/</Path><UserName>keywarden-warm-up</UserName><UserId>AIDAKEYWARDENWARMUP00</UserId>` +
              `<Arn>${WARM_UP_ARN}</Arn><CreateDate>${date}</CreateDate>` +
              `<Tags><member><Key>k</Key><Value>v</Value></member></Tags></User>`,
          ),
        ),
      ),
    ),
    iam.send(
      answered(
        new ListAccessKeysCommand({ UserName: 'keywarden-warm-up' }),
        xml(
          iamXml(
            'ListAccessKeys',
            `<UserName>keywarden-warm-up</UserName><AccessKeyMetadata><member><UserName>keywarden-warm-up</UserName>` +
              `<AccessKeyId>AKIAKEYWARDENWARMUP0</AccessKeyId><Status>Active</Status><CreateDate>${date}</CreateDate>` +
              `</member></AccessKeyMetadata><IsTruncated>false</IsTruncated>`,
          ),
        ),
      ),
    ),
    iam.send(
      answered(
        new GetAccessKeyLastUsedCommand({ AccessKeyId: 'AKIAKEYWARDENWARMUP0' }),
        xml(
          iamXml(
            'GetAccessKeyLastUsed',
            `<UserName>keywarden-warm-up</UserName><AccessKeyLastUsed><LastUsedDate>${date}</LastUsedDate>` +
              `<ServiceName>iam</ServiceName><Region>us-east-1</Region></AccessKeyLastUsed>`,
          ),
        ),
      ),
    ),
    iam.send(
      answered(
        new UpdateAccessKeyCommand({
          UserName: 'keywarden-warm-up',
          AccessKeyId: 'AKIAKEYWARDENWARMUP0',
          Status: 'Inactive',
        }),
        xml(
          `<UpdateAccessKeyResponse xmlns="${IAM_XMLNS}"><ResponseMetadata><RequestId>keywarden-warm-up` +
            `</RequestId></ResponseMetadata></UpdateAccessKeyResponse>`,
        ),
      ),
    ),
    securityHub.send(
      answered(
        new GetFindingsCommand({
          Filters: { Id: [{ Value: 'keywarden-warm-up', Comparison: 'EQUALS' }] },
          MaxResults: 100,
        }),
        json({ Findings: [] }),
      ),
    ),
    securityHub.send(
      answered(
        new BatchImportFindingsCommand({ Findings: [] }),
        json({ FailedCount: 0, SuccessCount: 0, FailedFindings: [] }),
      ),
    ),
  ];
  if (options.notifications) {
    calls.push(
      eventBridge.send(
        answered(
          new PutEventsCommand({
            Entries: [{ Source: 'keywarden.warm-up', DetailType: 'warm-up', Detail: '{}' }],
          }),
          json(
            { FailedEntryCount: 0, Entries: [{ EventId: 'keywarden-warm-up' }] },
            'application/x-amz-json-1.1',
          ),
        ),
      ),
    );
  }
  const settled = await Promise.allSettled(calls);
  return settled.every((outcome) => outcome.status === 'fulfilled');
}
