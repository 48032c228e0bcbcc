/**
 * Acceptance check: 2,000 users of whom 37 violate. The CLI lists exactly those 37 with IAM calls in
 * proportion to the violators, not the users; the scheduled sweep leaves exactly their findings FAILED and
 * resolves or archives the stale ones.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findingIdFor } from '../../functions/core/finding.ts';
import { loadConfig } from '../../functions/shared/config.ts';
import { createLogger } from '../../functions/shared/logger.ts';
import { createSweepHandler } from '../../functions/sweep/handler.ts';
import {
  ACCOUNT_ID,
  CONTEXT,
  type IsolatedAws,
  iamCalls,
  run,
  startIsolatedAws,
  type UserSpec,
} from './moto-fixture.ts';

const USERS = 2_000;
const VIOLATORS = 37;
const PATHS = ['/', '/eng/', '/ops/batch/'];

/** The account after the first sweep: 37 violators, 3 exempt, keys in every other state, 5 fixed since. */
function population(): {
  specs: UserSpec[];
  violators: string[];
  exempt: string[];
  fixed: string[];
  deleted: string[];
} {
  const specs: UserSpec[] = [];
  const add = (prefix: string, count: number, spec: Omit<UserSpec, 'userName'>): string[] => {
    const names = Array.from({ length: count }, (_, i) => `big-${prefix}-${i}`);
    for (const [i, userName] of names.entries())
      specs.push({ userName, path: PATHS[i % PATHS.length], ...spec });
    return names;
  };
  const violators = [
    ...add('violator', VIOLATORS - 7, { activeKeys: 2 }),
    // A tag that is not the exemption, and the exemption tag set to something other than true.
    ...add('tagged', 4, { activeKeys: 2, tags: { team: 'payments' } }),
    ...add('notexempt', 3, { activeKeys: 2, tags: { 'keywarden:exempt': 'false' } }),
  ];
  const exempt = [
    ...add('exempt', 2, { activeKeys: 2, tags: { 'keywarden:exempt': 'true' } }),
    ...add('exemptcaps', 1, { activeKeys: 2, tags: { 'keywarden:exempt': 'TRUE' } }),
  ];
  add('rotated', 60, { activeKeys: 1, inactiveKeys: 1 });
  add('retired', 20, { inactiveKeys: 2 });
  add('onekey', 400, { activeKeys: 1 });
  // Violating at the first sweep; one key switched off afterwards.
  const fixed = add('fixed', 5, { activeKeys: 2 });
  // Violating at the first sweep; deleted afterwards, so the account then holds exactly 2,000 users.
  const deleted = add('deleted', 5, { activeKeys: 2 });
  add('nokey', USERS + deleted.length - specs.length, {});
  return { specs, violators, exempt, fixed, deleted };
}

const silent = () => {
  const logger = createLogger('keywarden-sweep-test');
  logger.setLogLevel('SILENT');
  return logger;
};

describe('a sweep of 2,000 users with 37 violators', () => {
  let aws: IsolatedAws;
  const { specs, violators, exempt, fixed, deleted } = population();
  const idOf = (userName: string): string => findingIdFor(ACCOUNT_ID, userName);

  beforeAll(async () => {
    aws = await startIsolatedAws();
    await aws.seed(specs);
    // The first sweep reports the 47 violators of that time and the 3 exempt users.
    const firstSweep = createSweepHandler({
      config: loadConfig({}),
      clients: aws.clients(),
      cloudTrail: aws.cloudTrail(),
      logger: silent(),
    });
    const first = await firstSweep({}, CONTEXT);
    expect(first).toMatchObject({
      usersScanned: USERS + deleted.length,
      violating: VIOLATORS + 10,
      exempt: 3,
    });
    for (const userName of fixed) await aws.deactivateOneKey(userName);
    for (const userName of deleted) await aws.deleteUser(userName);
  }, 240_000);

  afterAll(async () => {
    await aws?.stop();
  });

  it('lists exactly the 37 violators with `keywarden scan --format json`, in O(violators) IAM calls', async () => {
    // Prepare
    aws.proxy.reset();

    // Act
    // The CLI from source; `npx keywarden` runs the compiled package (test/package covers it).
    const result = await run('node', ['functions/cli/bin.mjs', 'scan', '--format', 'json'], {
      AWS_ENDPOINT_URL: aws.proxy.endpoint,
    });

    // Assess
    expect(result.code).toBe(2);
    const output = JSON.parse(result.stdout);
    expect(output.violations.map((v: { userName: string }) => v.userName).sort()).toEqual(
      [...violators].sort(),
    );
    expect(output.exempt.map((e: { userName: string }) => e.userName).sort()).toEqual([...exempt].sort());
    expect(output.summary).toMatchObject({
      usersScanned: USERS,
      violating: VIOLATORS,
      exempt: 3,
      compliant: USERS - 40,
    });
    // Report path: generate + fetch, then GetUser and ListAccessKeys for each of the 40 users with two active
    // keys; last-used data comes from the report, so no GetAccessKeyLastUsed.
    const calls = iamCalls(aws.proxy);
    expect(calls).toEqual({
      GenerateCredentialReport: 1,
      GetCredentialReport: 1,
      GetUser: 40,
      ListAccessKeys: 40,
    });
    const total = Object.values(calls).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(5 + 3 * VIOLATORS);
  });

  it('leaves exactly the violators FAILED after the scheduled sweep, and resolves or archives stale findings', async () => {
    // Prepare
    aws.proxy.reset();
    const sweep = createSweepHandler({
      config: loadConfig({}),
      clients: aws.clients(),
      cloudTrail: aws.cloudTrail(),
      logger: silent(),
    });

    // Act
    const summary = await sweep({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, CONTEXT);

    // Assess
    const findings = await aws.findings();
    const withState = (state: string): string[] =>
      [...findings.values()]
        .filter((f) => `${f.Compliance?.Status}/${f.RecordState}` === state)
        .map((f) => f.Id as string)
        .sort();
    expect(withState('FAILED/ACTIVE')).toEqual(violators.map(idOf).sort());
    expect(withState('WARNING/ACTIVE')).toEqual(exempt.map(idOf).sort());
    expect(withState('PASSED/ACTIVE')).toEqual(fixed.map(idOf).sort());
    expect(withState('PASSED/ARCHIVED')).toEqual(deleted.map(idOf).sort());
    expect(summary).toMatchObject({
      source: 'credential-report',
      usersScanned: USERS,
      compliant: USERS - 40,
      violating: VIOLATORS,
      exempt: 3,
      resolved: 5,
      archived: 5,
      findingsImported: VIOLATORS + 3 + 10,
    });
    // The open findings add the 10 stale users to the 40 candidates; still nothing per compliant user.
    expect(iamCalls(aws.proxy)).toEqual({
      GenerateCredentialReport: 1,
      GetCredentialReport: 1,
      GetUser: 50,
      ListAccessKeys: 50,
    });
    // One batch for the users' findings, one call for the account's trail health finding.
    expect(aws.proxy.count('BatchImportFindings')).toBe(2);
  });
});
