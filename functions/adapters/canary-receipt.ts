/** The detector's side of the canary table: recording an arrival. Loaded only for a canary event. */

import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CanaryRecord } from '../core/canary.ts';
import type { CoverageProblem } from '../core/coverage.ts';
import { AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export interface CanaryReceiptPort {
  /**
   * The detector: the canary sent at `sentAt` arrived. Conditional, so an older canary never overwrites a newer
   * receipt; returns the record after the write, or undefined when a newer receipt is already there.
   */
  recordReceived(
    accountId: string,
    receipt: { readonly sentAt: Date; readonly receivedAt: Date; readonly eventTime: Date | undefined },
  ): Promise<CanaryRecord | undefined>;
}

export type CanaryItem = Record<string, { S?: string; N?: string }>;

const date = (item: CanaryItem, key: string): Date | undefined => {
  const value = item[key]?.S;
  const parsed = value === undefined ? undefined : new Date(value);
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
};

/** A stored item as a record; a field that does not parse is left out (a record proves nothing it cannot say). */
export function recordOf(item: CanaryItem): CanaryRecord {
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

export function createCanaryReceipts(client: DynamoDBClient, tableName: string): CanaryReceiptPort {
  return {
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
        return Attributes === undefined ? undefined : recordOf(Attributes as CanaryItem);
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        throw new AwsCallError('UpdateItem', errorCode(error), errorMessage(error), { cause: error });
      }
    },
  };
}
