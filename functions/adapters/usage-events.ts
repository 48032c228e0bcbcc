/**
 * CloudTrail LookupEvents by AccessKeyId: the management events signed with each active key of a violating user,
 * paced to CloudTrail's limit and bounded per key and region. Best effort: a failed read is reported in the
 * evidence, never thrown.
 */

import {
  CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import {
  type KeyUsageQuery,
  parseUsageRecord,
  type RegionRead,
  summariseUsage,
  USAGE_PAGES_PER_REGION,
  type UsageEvidence,
  type UsageRecord,
} from '../core/usage-evidence.ts';
import { type AwsClients, CLIENT_SETTINGS, errorCode, errorMessage, isThrottling } from './clients.ts';

export interface UsageEventsPort {
  /** The evidence of every queried key over [start, end]; never throws. */
  usage(
    queries: readonly KeyUsageQuery[],
    window: { readonly start: Date; readonly end: Date },
  ): Promise<UsageEvidence>;
}

export interface UsageEventsOptions {
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Pages of 50 events per key and region; default 2. */
  readonly maxPages?: number;
  /** LookupEvents requests per region over the port's life (one event, or one account's sweep); default 40. */
  readonly requestBudget?: number;
}

// LookupEvents allows 2 requests per second per account and Region, shared with every other tool.
export const LOOKUPS_PER_SECOND = 2;
const DEFAULT_REQUEST_BUDGET = 40;
const PAGE_SIZE = 50;

/** Waits for a region's turn, so no second holds more than LOOKUPS_PER_SECOND of its requests. */
function regionPacer(options: UsageEventsOptions): (region: string) => Promise<void> {
  const tails = new Map<string, Promise<void>>();
  const sent = new Map<string, number[]>();
  return (region) => {
    const turn = (tails.get(region) ?? Promise.resolve()).then(async () => {
      const times = sent.get(region) ?? [];
      const oldest = times.length < LOOKUPS_PER_SECOND ? undefined : times[times.length - LOOKUPS_PER_SECOND];
      const delay = oldest === undefined ? 0 : oldest + 1_000 - options.clock().getTime();
      if (delay > 0) await options.sleep(delay);
      sent.set(region, [...times.slice(1 - LOOKUPS_PER_SECOND), options.clock().getTime()]);
    });
    tails.set(region, turn);
    return turn;
  };
}

/** A port over one account's CloudTrail, in any Region; build one per event or per account sweep. */
export function createUsageEventsPort(
  clientFor: (region: string) => CloudTrailClient,
  options: UsageEventsOptions,
): UsageEventsPort {
  const maxPages = options.maxPages ?? USAGE_PAGES_PER_REGION;
  const budget = options.requestBudget ?? DEFAULT_REQUEST_BUDGET;
  const pace = regionPacer(options);
  const spent = new Map<string, number>();

  const readRegion = async (
    accessKeyId: string,
    region: string,
    window: { readonly start: Date; readonly end: Date },
  ): Promise<RegionRead> => {
    const records: UsageRecord[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      if ((spent.get(region) ?? 0) >= budget) return { region, records, pages, stopped: { kind: 'budget' } };
      spent.set(region, (spent.get(region) ?? 0) + 1);
      await pace(region);
      let output: LookupEventsCommandOutput;
      try {
        output = await clientFor(region).send(lookup(accessKeyId, window, nextToken));
      } catch (error) {
        const stopped = isThrottling(error)
          ? ({ kind: 'throttled' } as const)
          : ({ kind: 'failed', code: errorCode(error), message: errorMessage(error) } as const);
        return { region, records, pages, stopped };
      }
      pages += 1;
      for (const event of output.Events ?? []) {
        const record = parseUsageRecord(event.CloudTrailEvent, accessKeyId);
        if (record !== undefined) records.push(record);
      }
      nextToken = output.NextToken || undefined;
    } while (nextToken !== undefined && pages < maxPages);
    return nextToken === undefined
      ? { region, records, pages }
      : { region, records, pages, stopped: { kind: 'page-limit', pages } };
  };

  return {
    async usage(queries, window) {
      // Every key and region at once: the pacer keeps each region's requests apart.
      const keys = await Promise.all(
        queries.map(async ({ accessKeyId, regions }) => {
          const reads = await Promise.all(regions.map((region) => readRegion(accessKeyId, region, window)));
          return summariseUsage(accessKeyId, reads);
        }),
      );
      return { ...window, keys };
    },
  };
}

function lookup(
  accessKeyId: string,
  window: { readonly start: Date; readonly end: Date },
  nextToken: string | undefined,
): LookupEventsCommand {
  return new LookupEventsCommand({
    LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: accessKeyId }],
    StartTime: window.start,
    EndTime: window.end,
    MaxResults: PAGE_SIZE,
    ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
  });
}

// Built once per set of clients and region, so a warm function reuses them across events.
const clientsBuilt = new WeakMap<AwsClients, Map<string, CloudTrailClient>>();

/**
 * CloudTrail clients by region with the credentials of `clients` (a member role's session, or the function's own).
 */
export function usageClientsFor(clients: AwsClients): (region: string) => CloudTrailClient {
  let built = clientsBuilt.get(clients);
  if (built === undefined) {
    built = new Map<string, CloudTrailClient>();
    clientsBuilt.set(clients, built);
  }
  const byRegion = built;
  return (region) => {
    let client = byRegion.get(region);
    if (client === undefined) {
      client = new CloudTrailClient({
        ...CLIENT_SETTINGS,
        ...clients.settings,
        region,
        // One attempt: a throttled or failed read stops and says so (best effort), rather than retry.
        maxAttempts: 1,
      });
      byRegion.set(region, client);
    }
    return client;
  };
}
