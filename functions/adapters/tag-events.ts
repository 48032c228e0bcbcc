/** CloudTrail LookupEvents for TagUser: who set a user's exemption tag (read only when approvers are configured). */

import {
  CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { evidenceFromRecords, parseTagUserRecord, type TagUserRecord } from '../core/exemption-evidence.ts';
import type { AccountContext, ExemptionEvidence } from '../core/types.ts';
import { CLOUDTRAIL_LOOKUP_DAYS, iamEventRegionFor } from '../shared/constants.ts';
import { AwsCallError } from '../shared/errors.ts';
import { CLIENT_SETTINGS, errorCode, errorMessage } from './clients.ts';

export interface TagEventsPort {
  /** What CloudTrail proves about who set `exemptTag` on `userName`. Throws AwsCallError when a lookup fails. */
  exemptionEvidence(userName: string, exemptTag: string): Promise<ExemptionEvidence>;
}

export interface TagEventsOptions {
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Pages of 50 events read at most; default 10. */
  readonly maxPages?: number;
}

// LookupEvents allows 2 requests per second per account and Region.
const REQUEST_SPACING_MS = 500;
const DEFAULT_MAX_PAGES = 10;
const DAY_MS = 86_400_000;

/**
 * A port over one account's CloudTrail, in the Region where IAM's events are recorded. The TagUser events of the
 * last 90 days are read once per port (lazily, paced, at most `maxPages` pages) and answer every user's question:
 * build one port per sweep or per event, so what it read is never older than the run.
 */
export function createTagEventsPort(client: CloudTrailClient, options: TagEventsOptions): TagEventsPort {
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  let lastRequestAt = Number.NEGATIVE_INFINITY;
  let read: Promise<{ records: TagUserRecord[]; complete: boolean }> | undefined;

  const lookUp = async () => {
    const end = options.clock();
    const start = new Date(end.getTime() - CLOUDTRAIL_LOOKUP_DAYS * DAY_MS);
    const records: TagUserRecord[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const wait = lastRequestAt + REQUEST_SPACING_MS - options.clock().getTime();
      if (wait > 0) await options.sleep(wait);
      lastRequestAt = options.clock().getTime();
      let output: LookupEventsCommandOutput;
      try {
        output = await client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'TagUser' }],
            StartTime: start,
            EndTime: end,
            MaxResults: 50,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
      } catch (error) {
        throw new AwsCallError('LookupEvents', errorCode(error), errorMessage(error), { cause: error });
      }
      for (const event of output.Events ?? []) {
        const record = parseTagUserRecord(event.CloudTrailEvent);
        if (record !== undefined) records.push(record);
      }
      nextToken = output.NextToken || undefined;
      pages++;
    } while (nextToken !== undefined && pages < maxPages);
    return { records, complete: nextToken === undefined };
  };

  return {
    async exemptionEvidence(userName, exemptTag) {
      read ??= lookUp();
      let done: Awaited<typeof read>;
      try {
        done = await read;
      } catch (error) {
        // A failed read is not kept: the next question (or the retried invocation) reads again.
        read = undefined;
        throw error;
      }
      return evidenceFromRecords(done.records, userName, exemptTag, done.complete);
    },
  };
}

/**
 * Builds a {@link TagEventsPort} per run for an account, over CloudTrail clients built once, in the Region where
 * IAM's events are recorded (us-east-1 in `aws`), else the account's own Region.
 */
export function tagEventsPorts(
  options: TagEventsOptions & { readonly clientFor?: (region: string) => CloudTrailClient },
): (account: AccountContext) => TagEventsPort {
  // Its own clients rather than the trail check's adapter, so the detector's code holds no other CloudTrail call.
  const clients = new Map<string, CloudTrailClient>();
  const clientFor =
    options.clientFor ??
    ((region: string): CloudTrailClient => {
      let client = clients.get(region);
      if (client === undefined) {
        client = new CloudTrailClient({ ...CLIENT_SETTINGS, region });
        clients.set(region, client);
      }
      return client;
    });
  return (account) =>
    createTagEventsPort(clientFor(iamEventRegionFor(account.partition) ?? account.region), options);
}
