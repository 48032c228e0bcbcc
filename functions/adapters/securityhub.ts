/** Security Hub CSPM: validated, batched imports that treat a partial failure as a failure; finding reads. */

import {
  type AwsSecurityFindingFilters,
  BatchImportFindingsCommand,
  type BatchImportFindingsCommandOutput,
  GetFindingsCommand,
  type SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { assertValidBatch, MAX_FINDINGS_PER_BATCH } from '../core/asff.ts';
import type { Finding } from '../core/finding.ts';
import { AwsCallError, FindingImportError } from '../shared/errors.ts';
import { errorCode, errorMessage, retryThrottled } from './clients.ts';

export interface FindingsPort {
  /** Imports in batches of at most 100; retries findings that failed, then throws FindingImportError. */
  importFindings(findings: readonly Finding[]): Promise<void>;
  /** The stored finding with this Id and product, or undefined. */
  getFinding(productArn: string, id: string): Promise<Finding | undefined>;
  /** Findings matching the server-side filters, re-checked with `keep` (emulators ignore filters). */
  findFindings(filters: AwsSecurityFindingFilters, keep: (finding: Finding) => boolean): Promise<Finding[]>;
}

export interface FindingsPortOptions {
  readonly accountId: string;
  /** The partition the account is in; when set, a product ARN of another partition is rejected before sending. */
  readonly partition?: string;
  /** Attempts for findings that a batch reports as failed. */
  readonly attempts?: number;
  /**
   * The invocation's remaining time when the port is made (Lambda's getRemainingTimeInMillis): throttled calls
   * are retried until THROTTLING_MARGIN_MS before it ends. Without it, each call is retried for
   * DEFAULT_THROTTLING_BUDGET_MS.
   */
  readonly remainingTimeMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * Time kept back from the invocation's end when throttling is retried: one more call that is not throttled can
 * still take a request timeout (10 s), and the error must reach Lambda before the function times out.
 */
export const THROTTLING_MARGIN_MS = 20_000;
/** How long a call is retried while throttled when there is no invocation deadline (sweep, CLI). */
export const DEFAULT_THROTTLING_BUDGET_MS = 60_000;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createFindingsPort(client: SecurityHubClient, options: FindingsPortOptions): FindingsPort {
  const sender = throttledSender(client, options);
  const find = (filters: AwsSecurityFindingFilters, keep: (finding: Finding) => boolean) =>
    findFindings(sender, filters, keep);
  return {
    async importFindings(findings) {
      for (let start = 0; start < findings.length; start += MAX_FINDINGS_PER_BATCH) {
        const batch = findings.slice(start, start + MAX_FINDINGS_PER_BATCH);
        assertValidBatch(batch, options.accountId, options.partition);
        await importBatch(sender, batch);
      }
    },
    async getFinding(productArn, id) {
      const matches = await find(
        {
          Id: [{ Value: id, Comparison: 'EQUALS' }],
          ProductArn: [{ Value: productArn, Comparison: 'EQUALS' }],
        },
        (finding) => finding.Id === id && finding.ProductArn === productArn,
      );
      return matches[0];
    },
    findFindings: find,
  };
}

/** The client, with its retries and its throttling budget. */
interface ThrottledSender {
  readonly client: SecurityHubClient;
  readonly attempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Sends one command, riding out Security Hub's throttling (per account and region, shared with every tool). */
  readonly send: <T>(operation: string, call: () => Promise<T>) => Promise<T>;
}

function throttledSender(client: SecurityHubClient, options: FindingsPortOptions): ThrottledSender {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const invocationDeadline =
    options.remainingTimeMs === undefined
      ? undefined
      : now() + options.remainingTimeMs - THROTTLING_MARGIN_MS;
  return {
    client,
    attempts: options.attempts ?? 3,
    sleep,
    send: (operation, call) =>
      retryThrottled(call, {
        operation,
        deadline: invocationDeadline ?? now() + DEFAULT_THROTTLING_BUDGET_MS,
        sleep,
        now,
        ...(options.random ? { random: options.random } : {}),
      }),
  };
}

/** One BatchImportFindings of at most 100, the findings it refused retried; any left refused is a failure. */
async function importBatch(sender: ThrottledSender, batch: readonly Finding[]): Promise<void> {
  const { client, attempts, sleep, send } = sender;
  let pending = batch;
  let failed: { id: string; code: string; message: string }[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let output: BatchImportFindingsCommandOutput;
    try {
      output = await send('BatchImportFindings', () =>
        client.send(new BatchImportFindingsCommand({ Findings: [...pending] })),
      );
    } catch (error) {
      if (error instanceof AwsCallError) throw error;
      throw new AwsCallError('BatchImportFindings', errorCode(error), errorMessage(error), {
        cause: error,
      });
    }
    if (!output.FailedCount) return;
    failed = (output.FailedFindings ?? []).map((f) => ({
      id: f.Id ?? '(unknown)',
      code: f.ErrorCode ?? 'Unknown',
      message: f.ErrorMessage ?? '',
    }));
    const failedIds = new Set(failed.map((f) => f.id));
    const retry = pending.filter((finding) => failedIds.has(finding.Id ?? ''));
    // A failure we cannot attribute to a finding cannot be retried selectively.
    if (retry.length === 0) break;
    pending = retry;
    if (attempt < attempts) await sleep(200 * 2 ** attempt);
  }
  throw new FindingImportError(failed);
}

async function findFindings(
  sender: ThrottledSender,
  filters: AwsSecurityFindingFilters,
  keep: (finding: Finding) => boolean,
): Promise<Finding[]> {
  const found: Finding[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const token = nextToken;
      const page = await sender.send('GetFindings', () =>
        sender.client.send(new GetFindingsCommand({ Filters: filters, MaxResults: 100, NextToken: token })),
      );
      for (const finding of page.Findings ?? []) if (keep(finding)) found.push(finding);
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
  } catch (error) {
    if (error instanceof AwsCallError) throw error;
    throw new AwsCallError('GetFindings', errorCode(error), errorMessage(error), { cause: error });
  }
  return found;
}
