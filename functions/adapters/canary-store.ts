/**
 * The canary table (DynamoDB, in the central or single account, where no member can write): per account, when the
 * sweep last sent a canary and the coverage problems it saw; when the detector last received one, and its delay.
 */

import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import type { CanaryRecord } from '../core/canary.ts';
import type { CoverageProblem } from '../core/coverage.ts';
import { CANARY_TAG_KEY, CANARY_USER_NAME } from '../shared/constants.ts';
import { AwsCallError } from '../shared/errors.ts';
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
  /**
   * The detector: the canary sent at `sentAt` arrived. Conditional, so an older canary never overwrites a newer
   * receipt; returns the record after the write, or undefined when a newer receipt is already there.
   */
  recordReceived(
    accountId: string,
    receipt: { readonly sentAt: Date; readonly receivedAt: Date; readonly eventTime: Date | undefined },
  ): Promise<CanaryRecord | undefined>;
}

type Item = Record<string, { S?: string; N?: string }>;

const date = (item: Item, key: string): Date | undefined => {
  const value = item[key]?.S;
  const parsed = value === undefined ? undefined : new Date(value);
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
};

/** A stored item as a record; a field that does not parse is left out (a record proves nothing it cannot say). */
export function recordOf(item: Item): CanaryRecord {
  const delay = item.delayMs?.N === undefined ? undefined : Number(item.delayMs.N);
  let problems: CoverageProblem[] | undefined;
  try {
    problems =
      item.problems?.S === undefined ? undefined : (JSON.parse(item.problems.S) as CoverageProblem[]);
  } catch {
    problems = undefined;
  }
  return {
    accountId: item.accountId?.S ?? '',
    sentAt: date(item, 'sentAt'),
    receivedSentAt: date(item, 'receivedSentAt'),
    receivedAt: date(item, 'receivedAt'),
    eventTime: date(item, 'eventTime'),
    delayMs: delay !== undefined && Number.isFinite(delay) ? delay : undefined,
    problems: Array.isArray(problems) ? problems : undefined,
    findingCreatedAt: date(item, 'findingCreatedAt'),
  };
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
      return Item === undefined ? undefined : recordOf(Item as Item);
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
    async recordReceived(accountId, receipt) {
      const delayMs = Math.max(0, receipt.receivedAt.getTime() - receipt.sentAt.getTime());
      try {
        const { Attributes } = await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { accountId: { S: accountId } },
            UpdateExpression:
              'SET receivedSentAt = :sentAt, receivedAt = :receivedAt, delayMs = :delay, eventTime = :eventTime',
            // ISO 8601 in UTC compares as a string in time order.
            ConditionExpression: 'attribute_not_exists(receivedSentAt) OR receivedSentAt < :sentAt',
            ExpressionAttributeValues: {
              ':sentAt': { S: receipt.sentAt.toISOString() },
              ':receivedAt': { S: receipt.receivedAt.toISOString() },
              ':delay': { N: String(delayMs) },
              ':eventTime': { S: (receipt.eventTime ?? receipt.receivedAt).toISOString() },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Attributes === undefined ? undefined : recordOf(Attributes as Item);
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw new AwsCallError('UpdateItem', errorCode(error), errorMessage(error), { cause: error });
      }
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
