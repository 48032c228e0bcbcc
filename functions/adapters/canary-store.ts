/**
 * The sweep's side of the canary table (DynamoDB, in the central or single account, where no member can write): per
 * account, when the sweep last sent a canary and the coverage problems it saw. The detector's side is in
 * canary-receipt.ts, so its bundle holds no other table or IAM call.
 */

import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import type { CanaryRecord } from '../core/canary.ts';
import type { CoverageProblem } from '../core/coverage.ts';
import { CANARY_TAG_KEY, CANARY_USER_NAME } from '../shared/constants.ts';
import { AwsCallError } from '../shared/errors.ts';
import { type CanaryItem, recordOf } from './canary-receipt.ts';
import { errorCode, errorMessage } from './clients.ts';

export interface CanaryStorePort {
  read(accountId: string): Promise<CanaryRecord | undefined>;
  /** The sweep: a canary sent at `sentAt`, with the problems it saw (the canary's aside). */
  recordSent(
    accountId: string,
    sentAt: Date,
    problems: readonly CoverageProblem[],
    findingCreatedAt: Date,
  ): Promise<void>;
}

async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw new AwsCallError(operation, errorCode(error), errorMessage(error), { cause: error });
  }
}

export function createCanaryStore(client: DynamoDBClient, tableName: string): CanaryStorePort {
  return {
    async read(accountId) {
      const { Item } = await call('GetItem', () =>
        client.send(
          new GetItemCommand({
            TableName: tableName,
            Key: { accountId: { S: accountId } },
            ConsistentRead: true,
          }),
        ),
      );
      return Item === undefined ? undefined : recordOf(Item as CanaryItem);
    },
    async recordSent(accountId, sentAt, problems, findingCreatedAt) {
      await call('UpdateItem', () =>
        client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { accountId: { S: accountId } },
            UpdateExpression: 'SET sentAt = :sentAt, problems = :problems, findingCreatedAt = :createdAt',
            ExpressionAttributeValues: {
              ':sentAt': { S: sentAt.toISOString() },
              ':problems': { S: JSON.stringify(problems) },
              ':createdAt': { S: findingCreatedAt.toISOString() },
            },
          }),
        ),
      );
    },
  };
}

/** Sends the canary: one TagUser of the canary user, the tag's value the send time. Throws AwsCallError. */
export async function sendCanary(iam: IAMClient, sentAt: Date): Promise<void> {
  await call('TagUser', () =>
    iam.send(
      new TagUserCommand({
        UserName: CANARY_USER_NAME,
        Tags: [{ Key: CANARY_TAG_KEY, Value: sentAt.toISOString() }],
      }),
    ),
  );
}
