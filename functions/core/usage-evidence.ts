/**
 * Where and by what an access key is used: CloudTrail's management events signed with the key, summarised per key
 * (calls, first and last seen, top source IPs, user agents and event sources). Evidence for people triaging a
 * finding, never a reason to act or to fail: a read that fails says why in the summary. Pure.
 */

import type { AccessKey } from './types.ts';

/** How far back the evidence looks. */
export const USAGE_WINDOW_DAYS = 7;
/** LookupEvents pages (50 events each) read at most per key and region. */
export const USAGE_PAGES_PER_REGION = 2;
/** Most frequent values kept per attribute. */
export const USAGE_TOP = 5;
/** What LookupEvents holds: management events only (data events such as S3 GetObject never appear there). */
export const USAGE_SCOPE = 'CloudTrail management events only (LookupEvents); data events are not included';

const DAY_MS = 86_400_000;

/** One CloudTrail record of a call signed with the key, as far as the summary needs it. */
export interface UsageRecord {
  readonly eventTime: Date;
  readonly eventSource: string;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/** Why a region's read stopped before its last page. */
export type RegionStop =
  | { readonly kind: 'page-limit'; readonly pages: number }
  /** CloudTrail answered ThrottlingException: stopped rather than add to the account's throttling. */
  | { readonly kind: 'throttled' }
  /** The run's paced request budget for the region was spent. */
  | { readonly kind: 'budget' }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

/** What one region's LookupEvents gave for one key: its records, and why it stopped early (undefined: it did not). */
export interface RegionRead {
  readonly region: string;
  readonly records: readonly UsageRecord[];
  readonly pages: number;
  readonly stopped?: RegionStop | undefined;
}

export interface ValueCount {
  readonly value: string;
  readonly count: number;
}

/**
 * The usage of one key over the window. `complete`: every page of every region was read; `cut-off`: some were not
 * (`gaps` says which and why); `unavailable`: no page of any region could be read (`gaps` says why).
 */
export interface KeyUsage {
  readonly accessKeyId: string;
  readonly status: 'complete' | 'cut-off' | 'unavailable';
  readonly regions: readonly string[];
  readonly calls: number;
  readonly firstSeen: Date | undefined;
  readonly lastSeen: Date | undefined;
  readonly sourceIps: readonly ValueCount[];
  readonly userAgents: readonly ValueCount[];
  readonly eventSources: readonly ValueCount[];
  readonly gaps: readonly string[];
}

/** The usage evidence of a violating user's active keys, over [start, end]. */
export interface UsageEvidence {
  readonly start: Date;
  readonly end: Date;
  readonly keys: readonly KeyUsage[];
}

/** One key's read, as the planner asks for it: the regions to look in. */
export interface KeyUsageQuery {
  readonly accessKeyId: string;
  readonly regions: readonly string[];
}

/**
 * The regions to look in for a key: the partition's IAM event region (`home`), and the key's last-used region when
 * it differs and names a region (GetAccessKeyLastUsed answers "N/A" for a key never used).
 */
export function usageRegionsFor(key: AccessKey, home: string): readonly string[] {
  const region = key.lastUsed?.region;
  const real = region !== undefined && /^[a-z]{2}(-[a-z]+)+-\d+$/.test(region);
  return real && region !== home ? [home, region] : [home];
}

/** The window the evidence covers, ending at `now`. */
export function usageWindow(now: Date): { readonly start: Date; readonly end: Date } {
  return { start: new Date(now.getTime() - USAGE_WINDOW_DAYS * DAY_MS), end: now };
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/**
 * A LookupEvents event's CloudTrail record, when it is a call signed with `accessKeyId` inside the window;
 * undefined for anything else (unparsable, another key's, out of the window).
 */
export function parseUsageRecord(
  cloudTrailEvent: string | undefined,
  accessKeyId: string,
): UsageRecord | undefined {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(cloudTrailEvent ?? 'null');
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    record = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const identity = (record.userIdentity ?? {}) as Record<string, unknown>;
  // The lookup attribute already selects the signing key; checked again so a stray record is never counted.
  if (identity.accessKeyId !== accessKeyId) return undefined;
  const at = Date.parse(text(record.eventTime) ?? '');
  if (Number.isNaN(at)) return undefined;
  return {
    eventTime: new Date(at),
    eventSource: text(record.eventSource) ?? 'unknown',
    sourceIp: text(record.sourceIPAddress) ?? 'unknown',
    userAgent: text(record.userAgent) ?? 'unknown',
  };
}

/** The `top` most frequent values, most frequent first, ties by value so the summary is stable. */
export function topValues(values: readonly string[], top: number = USAGE_TOP): ValueCount[] {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, top);
}

function describeStop(read: RegionRead): string | undefined {
  const { stopped, region } = read;
  if (stopped === undefined) return undefined;
  switch (stopped.kind) {
    case 'page-limit':
      return `${region}: more events than the ${stopped.pages} pages read`;
    case 'throttled':
      return `${region}: CloudTrail throttled LookupEvents, stopped rather than retry`;
    case 'budget':
      return `${region}: this run's LookupEvents budget was spent`;
    case 'failed':
      return `${region}: ${stopped.code}: ${stopped.message}`;
  }
}

/** Summarises one key's reads over its regions. */
export function summariseUsage(accessKeyId: string, reads: readonly RegionRead[]): KeyUsage {
  const records = reads.flatMap((read) => read.records);
  const times = records.map((record) => record.eventTime.getTime());
  const gaps = reads.map(describeStop).filter((gap): gap is string => gap !== undefined);
  // No page read anywhere: nothing is known, which is not the same as a key CloudTrail shows idle.
  const nothingRead = reads.every((read) => read.pages === 0);
  return {
    accessKeyId,
    status: nothingRead ? 'unavailable' : gaps.length > 0 ? 'cut-off' : 'complete',
    regions: reads.map((read) => read.region),
    calls: records.length,
    firstSeen: times.length > 0 ? new Date(Math.min(...times)) : undefined,
    lastSeen: times.length > 0 ? new Date(Math.max(...times)) : undefined,
    sourceIps: topValues(records.map((record) => record.sourceIp)),
    userAgents: topValues(records.map((record) => record.userAgent)),
    eventSources: topValues(records.map((record) => record.eventSource)),
    gaps: reads.length === 0 ? ['no region was read'] : gaps,
  };
}

/** Every key's evidence missing for one reason (the read could not run at all). */
export function usageUnavailable(
  queries: readonly KeyUsageQuery[],
  window: { readonly start: Date; readonly end: Date },
  reason: string,
): UsageEvidence {
  return {
    ...window,
    keys: queries.map((query) => ({
      ...summariseUsage(query.accessKeyId, []),
      regions: query.regions,
      gaps: [reason],
    })),
  };
}

const counts = (values: readonly ValueCount[]): string =>
  values.length === 0 ? 'none' : values.map(({ value, count }) => `${value} (${count})`).join(', ');

/** A key's usage in one line: calls, first and last seen, and whether the summary is complete. */
export function describeUsageLine(usage: KeyUsage, days: number = USAGE_WINDOW_DAYS): string {
  const where = usage.regions.join(', ');
  if (usage.status === 'unavailable') return `usage evidence unavailable (${usage.gaps.join('; ')})`;
  const seen =
    usage.calls === 0
      ? `no management event signed with it in ${where} over the last ${days} days`
      : `${usage.calls} management event${usage.calls === 1 ? '' : 's'} in ${where} over the last ${days} days, first ${usage.firstSeen?.toISOString()}, last ${usage.lastSeen?.toISOString()}`;
  return usage.status === 'complete' ? `${seen}; complete` : `${seen}; cut off (${usage.gaps.join('; ')})`;
}

/** Where and by what a key is used: its top source IPs, user agents and event sources, with counts. */
export function describeUsageSources(usage: KeyUsage): string {
  return `source IPs: ${counts(usage.sourceIps)}; user agents: ${counts(usage.userAgents)}; event sources: ${counts(usage.eventSources)}`;
}

/** The usage of `accessKeyId` in the evidence, when it was read. */
export function usageOf(evidence: UsageEvidence | undefined, accessKeyId: string): KeyUsage | undefined {
  return evidence?.keys.find((usage) => usage.accessKeyId === accessKeyId);
}
