/** The local AWS stand-in for the demo and the benchmark: moto server, or an emulator the caller names. */

import { type MotoServer, startMoto } from '../../test/support/moto.ts';

export { MotoNotFoundError } from '../../test/support/moto.ts';

export const EMULATOR_REGION = 'us-east-1';

export interface Emulator {
  readonly endpoint: string;
  /** True when this process started the server (and stops it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

/** Uses `AWS_ENDPOINT_URL` when it is set, otherwise starts moto server on a free port. */
export async function startEmulator(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Emulator> {
  const given = env.AWS_ENDPOINT_URL?.trim();
  if (given) return { endpoint: given.replace(/\/+$/, ''), owned: false, stop: async () => undefined };
  const moto: MotoServer = await startMoto();
  return { endpoint: moto.endpoint, owned: true, stop: () => moto.stop() };
}

/** The variables that point the AWS SDK at the emulator, with dummy credentials unless some are set. */
export function emulatorEnv(
  endpoint: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: EMULATOR_REGION,
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID || 'test',
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY || 'test',
    // The detector must not pick up a profile that points at a real account.
    AWS_PROFILE: '',
  };
}

/** Runs `task` over `items` with at most `limit` in flight; results keep the items' order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit >= 1))
    throw new RangeError(`limit ${limit} is not a whole number ≥ 1`);
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A short random suffix so that runs against a shared emulator never collide. */
export function runId(): string {
  return Math.random().toString(36).slice(2, 8);
}

/**
 * The few SQS calls the demo needs, over SQS's JSON protocol. The project has no SQS SDK client; moto does not
 * check signatures, so the requests carry a well-formed but unsigned Authorization header.
 */
export interface SqsQueue {
  readonly url: string;
  readonly arn: string;
  /** Receives what is waiting (up to `max`), deleting what it returns. */
  drain(max?: number): Promise<string[]>;
}

async function sqsCall<T>(endpoint: string, operation: string, input: object): Promise<T> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${operation}`,
      authorization: `AWS4-HMAC-SHA256 Credential=test/20240101/${EMULATOR_REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`SQS ${operation} failed with HTTP ${response.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export async function createQueue(endpoint: string, name: string): Promise<SqsQueue> {
  const { QueueUrl: url } = await sqsCall<{ QueueUrl: string }>(endpoint, 'CreateQueue', { QueueName: name });
  const { Attributes } = await sqsCall<{ Attributes: { QueueArn: string } }>(endpoint, 'GetQueueAttributes', {
    QueueUrl: url,
    AttributeNames: ['QueueArn'],
  });
  return {
    url,
    arn: Attributes.QueueArn,
    async drain(max = 100) {
      const bodies: string[] = [];
      while (bodies.length < max) {
        const { Messages = [] } = await sqsCall<{ Messages?: { Body: string; ReceiptHandle: string }[] }>(
          endpoint,
          'ReceiveMessage',
          { QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 },
        );
        if (Messages.length === 0) break;
        for (const message of Messages) {
          bodies.push(message.Body);
          await sqsCall(endpoint, 'DeleteMessage', { QueueUrl: url, ReceiptHandle: message.ReceiptHandle });
        }
      }
      return bodies;
    },
  };
}

export async function deleteQueue(endpoint: string, url: string): Promise<void> {
  await sqsCall(endpoint, 'DeleteQueue', { QueueUrl: url });
}

/** Settings for an SDK client of the scripts themselves (seeding, reading back), pointed at `endpoint`. */
export function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: EMULATOR_REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 5,
  };
}
