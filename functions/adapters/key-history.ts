/** CloudTrail `LookupEvents`: the `UpdateAccessKey` calls that changed one access key's status. */

import {
  type CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { type KeyStatusChange, keyStatusChangeOf } from '../core/key-deactivation.ts';
import { AwsCallError } from '../shared/errors.ts';
import { errorCode, errorMessage } from './clients.ts';

export interface KeyHistory {
  /** Newest first; stops at the first successful change, since only the newest one counts. */
  readonly changes: readonly KeyStatusChange[];
  /** False when the page bound stopped the search before the oldest event LookupEvents keeps (90 days). */
  readonly complete: boolean;
  readonly eventsRead: number;
  readonly pages: number;
}

export interface KeyHistoryPort {
  /** The status changes of `accessKeyId` since `since`; throws AwsCallError when LookupEvents fails. */
  statusChanges(accessKeyId: string, since: Date): Promise<KeyHistory>;
}

export interface KeyHistoryOptions {
  readonly sleep: (ms: number) => Promise<void>;
  /** @default 20 (1,000 events, 10 s) */
  readonly maxPages?: number;
}

// LookupEvents allows 2 requests per second per account and region (AWS API reference), shared with every tool.
const PAGE_INTERVAL_MS = 500;
const PAGE_SIZE = 50;

export function createKeyHistoryPort(client: CloudTrailClient, options: KeyHistoryOptions): KeyHistoryPort {
  const maxPages = options.maxPages ?? 20;
  return {
    async statusChanges(accessKeyId, since) {
      const changes: KeyStatusChange[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      let eventsRead = 0;
      do {
        if (pages > 0) await options.sleep(PAGE_INTERVAL_MS);
        // The AccessKeyId attribute matches the credentials that signed a call, not the key it acted on: look
        // up the event name and match the key in requestParameters.
        let output: LookupEventsCommandOutput;
        try {
          output = await client.send(
            new LookupEventsCommand({
              LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'UpdateAccessKey' }],
              StartTime: since,
              MaxResults: PAGE_SIZE,
              ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
            }),
          );
        } catch (error) {
          throw new AwsCallError('cloudtrail:LookupEvents', errorCode(error), errorMessage(error), {
            cause: error,
          });
        }
        pages += 1;
        for (const event of output.Events ?? []) {
          eventsRead += 1;
          let record: unknown;
          try {
            record = JSON.parse(event.CloudTrailEvent ?? 'null');
          } catch {
            continue;
          }
          const change = keyStatusChangeOf(record, accessKeyId);
          if (change === undefined) continue;
          changes.push(change);
          if (change.errorCode === undefined) return { changes, complete: true, eventsRead, pages };
        }
        nextToken = output.NextToken || undefined;
      } while (nextToken !== undefined && pages < maxPages);
      return { changes, complete: nextToken === undefined, eventsRead, pages };
    },
  };
}
