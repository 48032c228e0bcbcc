/** Runs findings through the ASFF validator, so every finding a test produces is checked against the rules. */

import { expect } from 'vitest';
import { asffProblems } from '../../functions/core/asff.ts';
import type { Finding } from '../../functions/core/finding.ts';

/** The account moto runs as, and the one the core tests use. */
export const TEST_ACCOUNT_ID = '123456789012';

/** Fails with the list of broken ASFF rules when any finding is invalid (or missing). */
export function expectValidAsff(
  findings: Finding | readonly (Finding | undefined)[] | undefined,
  accountId: string = TEST_ACCOUNT_ID,
  partition = 'aws',
): void {
  const list = Array.isArray(findings) ? findings : [findings];
  expect(list.length, 'expected at least one finding').toBeGreaterThan(0);
  for (const finding of list) {
    expect(finding, 'expected a finding').toBeDefined();
    expect(asffProblems(finding as Finding, accountId, partition), `finding ${finding?.Id}`).toEqual([]);
  }
}
