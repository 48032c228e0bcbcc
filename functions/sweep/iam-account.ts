/** The account-wide IAM reads of the sweep: the credential report and the paginated user listing. */

import {
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  type IAMClient,
  ListUsersCommand,
  type ListUsersCommandOutput,
} from '@aws-sdk/client-iam';
import { errorCode, errorMessage } from '../adapters/clients.ts';
import { AwsCallError, CredentialReportError } from '../shared/errors.ts';
import { decodeReportContent } from './credential-report.ts';

export interface ListedUser {
  readonly userName: string;
  readonly arn: string;
}

export interface FetchedReport {
  /** The CSV text. */
  readonly csv: string;
  readonly generatedAt: Date | undefined;
}

export interface AccountIamPort {
  /** GenerateCredentialReport, polled with back-off until COMPLETE, then GetCredentialReport. */
  credentialReport(): Promise<FetchedReport>;
  /** ListUsers, every page. */
  listUsers(): Promise<ListedUser[]>;
}

export interface AccountIamOptions {
  readonly sleep: (ms: number) => Promise<void>;
  /** Give up waiting for the report after this long (default 5 minutes). */
  readonly reportTimeoutMs?: number;
  /** Milliseconds since the epoch, for the timeout; default Date.now. */
  readonly now?: () => number;
}

const FIRST_POLL_MS = 500;
const MAX_POLL_MS = 10_000;
const DEFAULT_REPORT_TIMEOUT_MS = 5 * 60_000;

// GetCredentialReport errors, by SDK exception name and by IAM error code.
const NOT_READY = new Set(['CredentialReportNotReadyException', 'ReportInProgress']);
const MUST_REGENERATE = new Set([
  'CredentialReportNotPresentException',
  'ReportNotPresent',
  'CredentialReportExpiredException',
  'ReportExpired',
]);

function wrap(operation: string, error: unknown): AwsCallError {
  return new AwsCallError(operation, errorCode(error), errorMessage(error), { cause: error });
}

export function createAccountIamPort(client: IAMClient, options: AccountIamOptions): AccountIamPort {
  const now = options.now ?? Date.now;
  const timeoutMs = options.reportTimeoutMs ?? DEFAULT_REPORT_TIMEOUT_MS;
  return {
    async credentialReport() {
      const deadline = now() + timeoutMs;
      let wait = FIRST_POLL_MS;
      for (;;) {
        // GenerateCredentialReport is cheap to repeat: it reports STARTED or INPROGRESS while IAM writes the
        // report and COMPLETE once one under 4 hours old exists, and it restarts an expired one.
        if ((await generate(client)) === 'COMPLETE') {
          const report = await fetchReport(client);
          if (report !== undefined) return report;
        }
        if (now() + wait > deadline) {
          throw new CredentialReportError(
            `the IAM credential report was not ready after ${Math.round(timeoutMs / 1000)} s`,
          );
        }
        await options.sleep(wait);
        wait = Math.min(wait * 2, MAX_POLL_MS);
      }
    },
    listUsers: () => listUsers(client),
  };
}

async function generate(client: IAMClient): Promise<string> {
  try {
    const output = await client.send(new GenerateCredentialReportCommand({}));
    return output.State ?? 'UNKNOWN';
  } catch (error) {
    throw wrap('GenerateCredentialReport', error);
  }
}

/** The report, or undefined while IAM is still writing it (or must write it again). */
async function fetchReport(client: IAMClient): Promise<FetchedReport | undefined> {
  try {
    const output = await client.send(new GetCredentialReportCommand({}));
    return { csv: decodeReportContent(output.Content), generatedAt: output.GeneratedTime };
  } catch (error) {
    const code = errorCode(error);
    if (NOT_READY.has(code) || MUST_REGENERATE.has(code)) return undefined;
    if (error instanceof CredentialReportError) throw error;
    throw wrap('GetCredentialReport', error);
  }
}

async function listUsers(client: IAMClient): Promise<ListedUser[]> {
  const users: ListedUser[] = [];
  let marker: string | undefined;
  try {
    do {
      const page: ListUsersCommandOutput = await client.send(
        new ListUsersCommand({ Marker: marker, MaxItems: 1000 }),
      );
      for (const user of page.Users ?? []) {
        if (user.UserName !== undefined && user.Arn !== undefined) {
          users.push({ userName: user.UserName, arn: user.Arn });
        }
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker !== undefined);
  } catch (error) {
    throw wrap('ListUsers', error);
  }
  return users;
}
