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
import { errorCode, errorMessage } from './clients.ts';

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
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createFindingsPort(client: SecurityHubClient, options: FindingsPortOptions): FindingsPort {
  const attempts = options.attempts ?? 3;
  const sleep = options.sleep ?? defaultSleep;

  async function importBatch(batch: readonly Finding[]): Promise<void> {
    let pending = batch;
    let failed: { id: string; code: string; message: string }[] = [];
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let output: BatchImportFindingsCommandOutput;
      try {
        output = await client.send(new BatchImportFindingsCommand({ Findings: [...pending] }));
      } catch (error) {
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

  async function findFindings(filters: AwsSecurityFindingFilters, keep: (finding: Finding) => boolean) {
    const found: Finding[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await client.send(
          new GetFindingsCommand({ Filters: filters, MaxResults: 100, NextToken: nextToken }),
        );
        for (const finding of page.Findings ?? []) if (keep(finding)) found.push(finding);
        nextToken = page.NextToken || undefined;
      } while (nextToken !== undefined);
    } catch (error) {
      throw new AwsCallError('GetFindings', errorCode(error), errorMessage(error), { cause: error });
    }
    return found;
  }

  return {
    async importFindings(findings) {
      for (let start = 0; start < findings.length; start += MAX_FINDINGS_PER_BATCH) {
        const batch = findings.slice(start, start + MAX_FINDINGS_PER_BATCH);
        assertValidBatch(batch, options.accountId, options.partition);
        await importBatch(batch);
      }
    },
    async getFinding(productArn, id) {
      const matches = await findFindings(
        {
          Id: [{ Value: id, Comparison: 'EQUALS' }],
          ProductArn: [{ Value: productArn, Comparison: 'EQUALS' }],
        },
        (finding) => finding.Id === id && finding.ProductArn === productArn,
      );
      return matches[0];
    },
    findFindings,
  };
}
