/** The organization sweep's unit of work: one SQS message per account. Pure. */

import type { AccountContext } from '../core/types.ts';
import { ACCOUNT_ID_PATTERN, SWEEP_SOURCES, type SweepSource } from '../shared/constants.ts';
import { InvalidEventError } from '../shared/errors.ts';

/** The body of one message of the sweep's account queue. */
export interface AccountMessage {
  readonly accountId: string;
  readonly sweepSource: SweepSource;
}

/** The accounts a scheduled organization sweep covers: its own first, then each member once, by id. */
export function sweepAccountIds(own: AccountContext, memberAccountIds: readonly string[]): string[] {
  const members = [...new Set(memberAccountIds)].filter((id) => id !== own.accountId).sort();
  return [own.accountId, ...members];
}

export function encodeAccountMessage(message: AccountMessage): string {
  return JSON.stringify({ accountId: message.accountId, sweepSource: message.sweepSource });
}

/**
 * Reads a message body; throws InvalidEventError for anything else, so the message fails every receive and
 * reaches the queue's dead-letter queue, which alarms.
 */
export function parseAccountMessage(body: string): AccountMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidEventError('sweep queue message is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new InvalidEventError('sweep queue message is not an object');
  }
  const { accountId, sweepSource } = parsed as Record<string, unknown>;
  if (typeof accountId !== 'string' || !ACCOUNT_ID_PATTERN.test(accountId)) {
    throw new InvalidEventError(
      `sweep queue message names no account: accountId=${JSON.stringify(accountId)} is not a 12-digit account id`,
    );
  }
  if (typeof sweepSource !== 'string' || !(SWEEP_SOURCES as readonly string[]).includes(sweepSource)) {
    throw new InvalidEventError(
      `sweep queue message sweepSource=${JSON.stringify(sweepSource)} is not allowed; use one of: ${SWEEP_SOURCES.join(', ')}`,
    );
  }
  return { accountId, sweepSource: sweepSource as SweepSource };
}
