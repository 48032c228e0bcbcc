/**
 * The synthesized rule's event pattern, evaluated by moto's EventBridge against CloudTrail records wrapped in
 * their EventBridge envelope: a custom bus with a rule (the pattern taken from the template) and an SQS target.
 * Moto accepts `aws.*` sources in PutEvents, which AWS refuses; that is what lets the fixtures in.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { removeTestApps, type SynthesizedVariant, synthesizeVariant } from './synth.ts';

const REGION = 'us-east-1';
const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'cloudtrail');

type Json = Record<string, unknown>;

function fixture(name: string): Json {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as Json;
}

/** A CloudTrail record in the envelope EventBridge delivers it in. */
function envelope(detail: Json, overrides: { source?: string; 'detail-type'?: string } = {}): Json {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': overrides['detail-type'] ?? 'AWS API Call via CloudTrail',
    source: overrides.source ?? 'aws.iam',
    account: '123456789012',
    time: '2024-07-30T21:53:16Z',
    region: REGION,
    resources: [],
    detail,
  };
}

const createAccessKeyEvent = fixture('eventbridge-create-access-key-iam-user.json');
const createAccessKey = createAccessKeyEvent.detail as Json;
const createForOtherUser = fixture('record-create-access-key-for-other-user.json');
const rootSelf = fixture('record-create-access-key-root-self.json');
const limitExceeded = fixture('record-create-access-key-error-limit-exceeded.json');
// The excerpt omits eventSource, which every IAM record carries.
const updateByRole = {
  eventSource: 'iam.amazonaws.com',
  ...fixture('record-update-access-key-assumed-role-excerpt.json'),
};
const { errorCode: _errorCode, errorMessage: _errorMessage, ...limitExceededWithoutError } = limitExceeded;

/** Each case that must not match beside the twin that must, differing only in what the pattern rejects. */
const CASES: readonly { readonly name: string; readonly event: Json; readonly matches: boolean }[] = [
  { name: 'CreateAccessKey by an IAM user (real envelope)', event: createAccessKeyEvent, matches: true },
  { name: 'CreateAccessKey for another user', event: envelope(createForOtherUser), matches: true },
  { name: 'CreateAccessKey by root for itself', event: envelope(rootSelf), matches: true },
  { name: 'UpdateAccessKey by an assumed role', event: envelope(updateByRole), matches: true },
  {
    name: 'DeleteAccessKey',
    event: envelope({ ...createAccessKey, eventName: 'DeleteAccessKey' }),
    matches: true,
  },
  { name: 'CreateAccessKey that failed with LimitExceeded', event: envelope(limitExceeded), matches: false },
  { name: 'the same call without its error', event: envelope(limitExceededWithoutError), matches: true },
  {
    name: 'UpdateAccessKey denied, with null requestParameters',
    event: envelope({ ...updateByRole, errorCode: 'AccessDenied', requestParameters: null }),
    matches: false,
  },
  { name: 'CreateUser', event: envelope({ ...createAccessKey, eventName: 'CreateUser' }), matches: false },
  {
    name: 'TagUser (an exemption may change)',
    event: envelope({
      ...createAccessKey,
      eventName: 'TagUser',
      requestParameters: { userName: 'alice', tags: [{ key: 'keywarden:exempt', value: 'true' }] },
      responseElements: null,
    }),
    matches: true,
  },
  {
    name: 'UntagUser',
    event: envelope({
      ...createAccessKey,
      eventName: 'UntagUser',
      requestParameters: { userName: 'alice', tagKeys: ['keywarden:exempt'] },
      responseElements: null,
    }),
    matches: true,
  },
  {
    name: 'UpdateUser renaming a user (the findings follow it)',
    event: envelope({
      ...createAccessKey,
      eventName: 'UpdateUser',
      requestParameters: { userName: 'alice', newUserName: 'alicia' },
      responseElements: null,
    }),
    matches: true,
  },
  {
    name: 'UpdateUser denied',
    event: envelope({
      ...createAccessKey,
      eventName: 'UpdateUser',
      requestParameters: null,
      responseElements: null,
      errorCode: 'AccessDenied',
      errorMessage: 'User is not authorized to perform iam:UpdateUser',
    }),
    matches: false,
  },
  { name: 'UpdateRole', event: envelope({ ...createAccessKey, eventName: 'UpdateRole' }), matches: false },
  { name: 'TagRole', event: envelope({ ...createAccessKey, eventName: 'TagRole' }), matches: false },
  {
    name: 'ListAccessKeys',
    event: envelope({ ...createAccessKey, eventName: 'ListAccessKeys' }),
    matches: false,
  },
  {
    name: 'an event name differing in case',
    event: envelope({ ...createAccessKey, eventName: 'createAccessKey' }),
    matches: false,
  },
  { name: 'another source', event: envelope(createAccessKey, { source: 'aws.sts' }), matches: false },
  {
    name: 'another detail-type',
    event: envelope(createAccessKey, { 'detail-type': 'AWS Console Sign In via CloudTrail' }),
    matches: false,
  },
  {
    name: 'another eventSource',
    event: envelope({ ...createAccessKey, eventSource: 'sts.amazonaws.com' }),
    matches: false,
  },
];

/** Minimal SQS JSON-protocol client for moto (this project has no SQS SDK client). */
function sqs(endpoint: string) {
  return async <T>(action: string, body: Json): Promise<T> => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': `AmazonSQS.${action}`,
        // Moto routes by the service in the credential scope and does not check the signature.
        Authorization: `AWS4-HMAC-SHA256 Credential=testing/20240101/${REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`SQS ${action}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
}

let variant: SynthesizedVariant;
let delivered: Set<string>;
let sentIds: Map<string, string>;

beforeAll(async () => {
  variant = synthesizeVariant({ env: { region: REGION } });
  const rules = variant.template.findResources('AWS::Events::Rule', {
    Properties: { EventPattern: { source: ['aws.iam'] } },
  });
  const pattern = Object.values(rules)[0]?.Properties.EventPattern;
  expect(Object.keys(rules)).toHaveLength(1);

  const endpoint = inject('motoEndpoint');
  const eventBridge = new EventBridgeClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const callSqs = sqs(endpoint);
  // A bus and queue of its own, so other tests' rules on the default bus cannot interfere.
  const name = `keywarden-pattern-${randomUUID().slice(0, 8)}`;
  await eventBridge.send(new CreateEventBusCommand({ Name: name }));
  const { QueueUrl } = await callSqs<{ QueueUrl: string }>('CreateQueue', { QueueName: name });
  const { Attributes } = await callSqs<{ Attributes: { QueueArn: string } }>('GetQueueAttributes', {
    QueueUrl,
    AttributeNames: ['QueueArn'],
  });
  await eventBridge.send(
    new PutRuleCommand({ Name: name, EventBusName: name, EventPattern: JSON.stringify(pattern) }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: name,
      EventBusName: name,
      Targets: [{ Id: 'queue', Arn: Attributes.QueueArn }],
    }),
  );

  sentIds = new Map();
  for (let start = 0; start < CASES.length; start += 10) {
    const batch = CASES.slice(start, start + 10);
    const entries: PutEventsRequestEntry[] = batch.map(({ event }) => ({
      EventBusName: name,
      Source: event.source as string,
      DetailType: event['detail-type'] as string,
      Detail: JSON.stringify(event.detail),
      Resources: event.resources as string[],
    }));
    const result = await eventBridge.send(new PutEventsCommand({ Entries: entries }));
    expect(result.FailedEntryCount ?? 0).toBe(0);
    batch.forEach((testCase, index) => {
      const eventId = result.Entries?.[index]?.EventId;
      if (eventId === undefined) throw new Error(`no EventId for ${testCase.name}`);
      sentIds.set(testCase.name, eventId);
    });
  }

  delivered = new Set();
  for (;;) {
    const { Messages = [] } = await callSqs<{ Messages?: { Body: string }[] }>('ReceiveMessage', {
      QueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
    });
    if (Messages.length === 0) break;
    for (const message of Messages) delivered.add((JSON.parse(message.Body) as { id: string }).id);
  }
});

afterAll(removeTestApps);

describe('the synthesized event pattern, evaluated by EventBridge (moto)', () => {
  it.each(CASES.map((testCase) => [testCase.name, testCase.matches] as const))(
    '%s: delivered = %s',
    (name, matches) => {
      expect(delivered.has(sentIds.get(name) as string)).toBe(matches);
    },
  );

  it('delivers nothing beyond the matching cases', () => {
    expect(delivered.size).toBe(CASES.filter((testCase) => testCase.matches).length);
  });
});
