/** Named errors. The Lambda handlers rethrow them so that retries and the dead-letter queue take over. */

export class KeyWardenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or not one of the allowed values. */
export class ConfigError extends KeyWardenError {}

/** The input is not an event KeyWarden can read (wrong shape or types). */
export class InvalidEventError extends KeyWardenError {}

/** A finding failed ASFF validation before it was sent. */
export class AsffValidationError extends KeyWardenError {
  constructor(
    readonly findingId: string,
    readonly problems: readonly string[],
  ) {
    super(`finding ${findingId} is not valid ASFF: ${problems.join('; ')}`);
  }
}

/** Security Hub rejected some findings of a batch (FailedCount > 0). */
export class FindingImportError extends KeyWardenError {
  constructor(readonly failed: readonly { id: string; code: string; message: string }[]) {
    super(
      `Security Hub rejected ${failed.length} finding(s): ${failed
        .map((f) => `${f.id} (${f.code}: ${f.message})`)
        .join(', ')}`,
    );
  }
}

/** EventBridge rejected a notification event. */
export class NotificationError extends KeyWardenError {}

/** A call to AWS failed; `operation` names the API and `code` the AWS error code. */
export class AwsCallError extends KeyWardenError {
  constructor(
    readonly operation: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} failed: ${code}: ${message}`, options);
  }
}

/** The credential report did not become ready in time, or could not be parsed. */
export class CredentialReportError extends KeyWardenError {}

/**
 * A key was deactivated but the finding saying so could not be imported. The message is the record: which key,
 * when, in which finding, and the command that re-activates it.
 */
export class RemediationNotRecordedError extends KeyWardenError {
  constructor(
    readonly findingId: string,
    readonly deactivatedAccessKeyIds: readonly string[],
    readonly deactivatedAt: Date,
    readonly reactivateCommand: string,
    cause: unknown,
  ) {
    super(
      `deactivated ${deactivatedAccessKeyIds.join(', ')} at ${deactivatedAt.toISOString()} but could not record it in finding ${findingId}: ${
        cause instanceof Error ? cause.message : String(cause)
      }. To re-activate: ${reactivateCommand}`,
      { cause },
    );
  }
}

/** The member role of an account could not be assumed (missing, untrusted, or STS refused): nothing was read there. */
export class MemberRoleError extends KeyWardenError {
  constructor(
    readonly accountId: string,
    readonly roleArn: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`could not assume ${roleArn} in account ${accountId}: ${code}: ${message}`, options);
  }
}

/** SQS did not take every message of a batch (`Failed` entries): the accounts named were not queued. */
export class AccountQueueError extends KeyWardenError {
  constructor(
    readonly failed: readonly {
      readonly accountId: string;
      readonly code: string;
      readonly message: string;
    }[],
  ) {
    super(
      `the sweep queue refused ${failed.length} account(s): ${failed
        .map((f) => `${f.accountId} (${f.code}: ${f.message})`)
        .join(', ')}`,
    );
  }
}
