/** SQS: the organization sweep's queue of accounts, one message per account. */

import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { AccountQueueError, AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

/** SendMessageBatch takes at most 10 entries per call. */
export const MAX_MESSAGES_PER_BATCH = 10;

export interface QueuedAccount {
  readonly accountId: string;
  readonly body: string;
}

export interface AccountQueuePort {
  /**
   * Sends one message per account, 10 per call. Throws AwsCallError when a call fails and AccountQueueError
   * naming the accounts SQS refused (a partial failure is a failure); the batches before it are sent.
   */
  send(accounts: readonly QueuedAccount[]): Promise<void>;
}

export function createAccountQueuePort(client: SQSClient, queueUrl: string): AccountQueuePort {
  return {
    async send(accounts) {
      for (let start = 0; start < accounts.length; start += MAX_MESSAGES_PER_BATCH) {
        const batch = accounts.slice(start, start + MAX_MESSAGES_PER_BATCH);
        // Entry ids are unique within a call; the index maps a failed entry back to its account.
        const entries = batch.map((account, index) => ({ Id: String(index), MessageBody: account.body }));
        let output: SendMessageBatchCommandOutput;
        try {
          output = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        } catch (error) {
          throw new AwsCallError('sqs:SendMessageBatch', errorCode(error), errorMessage(error), {
            cause: error,
          });
        }
        const failed = output.Failed ?? [];
        const sent = new Set((output.Successful ?? []).map((entry) => entry.Id));
        // An entry neither successful nor failed was not confirmed either: it counts as failed.
        const unconfirmed = entries.filter(
          (entry) => !sent.has(entry.Id) && !failed.some((f) => f.Id === entry.Id),
        );
        if (failed.length > 0 || unconfirmed.length > 0) {
          const accountOf = (id: string | undefined) => batch[Number(id)]?.accountId ?? `entry ${id}`;
          throw new AccountQueueError([
            ...failed.map((f) => ({
              accountId: accountOf(f.Id),
              code: f.Code ?? 'Unknown',
              message: f.Message ?? 'no message',
            })),
            ...unconfirmed.map((entry) => ({
              accountId: accountOf(entry.Id),
              code: 'Unconfirmed',
              message: 'neither Successful nor Failed in the response',
            })),
          ]);
        }
      }
    },
  };
}
