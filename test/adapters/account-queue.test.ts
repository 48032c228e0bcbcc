import { SendMessageBatchCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAccountQueuePort, type QueuedAccount } from '../../functions/adapters/account-queue.ts';
import { AccountQueueError, AwsCallError } from '../../functions/shared/errors.ts';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/keywarden-sweep-accounts';

const accounts = (count: number): QueuedAccount[] =>
  Array.from({ length: count }, (_, n) => {
    const accountId = String(100000000000 + n);
    return { accountId, body: JSON.stringify({ accountId }) };
  });

/** Answers every batch as fully sent. */
function acceptAll(): void {
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((entry) => ({
      Id: entry.Id,
      MessageId: `m-${entry.Id}`,
      MD5OfMessageBody: 'x',
    })),
    Failed: [],
  }));
}

beforeEach(() => {
  sqs.reset();
});

describe('createAccountQueuePort', () => {
  it('sends one message per account, 10 per SendMessageBatch, to the queue', async () => {
    acceptAll();
    const port = createAccountQueuePort(new SQSClient({ region: 'us-east-1' }), QUEUE_URL);

    await port.send(accounts(23));

    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
    expect(calls.every((call) => call.args[0].input.QueueUrl === QUEUE_URL)).toBe(true);
    const bodies = calls.flatMap((call) => call.args[0].input.Entries?.map((entry) => entry.MessageBody));
    expect(bodies).toEqual(accounts(23).map((account) => account.body));
  });

  it('makes no call for no account', async () => {
    acceptAll();
    await createAccountQueuePort(new SQSClient({ region: 'us-east-1' }), QUEUE_URL).send([]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('throws AccountQueueError naming the accounts SQS refused: a partial failure is a failure', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: '0', MessageId: 'm0', MD5OfMessageBody: 'x' }],
      Failed: [{ Id: '1', Code: 'InternalError', Message: 'try again', SenderFault: false }],
    });
    const port = createAccountQueuePort(new SQSClient({ region: 'us-east-1' }), QUEUE_URL);

    const sent = port.send(accounts(2));

    await expect(sent).rejects.toBeInstanceOf(AccountQueueError);
    await expect(sent).rejects.toMatchObject({
      failed: [{ accountId: '100000000001', code: 'InternalError', message: 'try again' }],
    });
    await expect(sent).rejects.toThrow('100000000001 (InternalError: try again)');
  });

  it('counts an entry neither successful nor failed as refused', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: '0', MessageId: 'm0', MD5OfMessageBody: 'x' }],
      Failed: [],
    });
    const port = createAccountQueuePort(new SQSClient({ region: 'us-east-1' }), QUEUE_URL);

    await expect(port.send(accounts(2))).rejects.toMatchObject({
      name: 'AccountQueueError',
      failed: [{ accountId: '100000000001', code: 'Unconfirmed' }],
    });
  });

  it('stops at a failed call with AwsCallError naming the API; the batches before it were sent', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: Array.from({ length: 10 }, (_, n) => ({
          Id: String(n),
          MessageId: `m${n}`,
          MD5OfMessageBody: 'x',
        })),
      })
      .rejectsOnce(
        new SQSServiceException({
          name: 'QueueDoesNotExist',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'The specified queue does not exist.',
        }),
      );
    const port = createAccountQueuePort(new SQSClient({ region: 'us-east-1' }), QUEUE_URL);

    const sent = port.send(accounts(25));

    await expect(sent).rejects.toBeInstanceOf(AwsCallError);
    await expect(sent).rejects.toMatchObject({
      operation: 'sqs:SendMessageBatch',
      code: 'QueueDoesNotExist',
    });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
  });
});
