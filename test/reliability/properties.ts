/**
 * The fuzz properties, as functions of a run budget: the CI test runs them small, `scripts/fuzz.ts` runs them
 * large. Each returns a tally of what the inputs turned into, so the reliability report can quote real figures.
 * Failures throw (fast-check reports the seed and the shrunk counterexample).
 */

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type ParsedKeyEvent, parseKeyEvent, USER_NAME } from '../../functions/core/event.ts';
import type { DetectorResult } from '../../functions/detector/handler.ts';
import { KEEP_KEY_STRATEGIES, KEY_EVENT_NAMES, REMEDIATION_MODES } from '../../functions/shared/constants.ts';
import { InvalidEventError } from '../../functions/shared/errors.ts';
import { anyInputArb, anythingArb, type FuzzCase, handlerInputArb, jsonValueArb } from './arbitraries.ts';
import {
  createMockWorld,
  recordingLogger,
  runDetector,
  type Scenario,
  type WorldKey,
} from './mock-harness.ts';

export interface FuzzBudget {
  readonly numRuns: number;
  readonly seed?: number | undefined;
}

export interface Tally {
  runs: number;
  readonly outcomes: Record<string, number>;
  readonly families: Record<string, number>;
  iamWrites: number;
  secretsPlanted: number;
  logLines: number;
}

const newTally = (): Tally => ({
  runs: 0,
  outcomes: {},
  families: {},
  iamWrites: 0,
  secretsPlanted: 0,
  logLines: 0,
});
const bump = (record: Record<string, number>, key: string): void => {
  record[key] = (record[key] ?? 0) + 1;
};

const SKIP_REASONS = new Set([
  'not-iam-api-call',
  'event-out-of-scope',
  'failed-call',
  'account-mismatch',
  'invalid-account',
  'root-credentials',
  'no-target-user',
  'own-remediation',
]);

// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const ACCESS_KEY_ID = /^[A-Z0-9]{1,128}$/;

/** Untrusted text that reaches a log or a finding: no control characters, bounded length. */
function assertClipped(value: string | undefined, max: number, what: string): void {
  if (value === undefined) return;
  assert.ok(
    !CONTROL_CHARACTER.test(value),
    `${what} carries a control character: ${JSON.stringify(value.slice(0, 80))}`,
  );
  assert.ok(value.length <= max, `${what} is ${value.length} characters, more than ${max}`);
}

function assertNoSecret(text: string, secrets: readonly string[], where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `a planted secret appears in ${where}`);
}

const field = (value: unknown, ...path: string[]): unknown => {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
};

/** What parseKeyEvent must guarantee for any input. */
function checkParse(input: FuzzCase): string {
  let parsed: ParsedKeyEvent;
  try {
    parsed = parseKeyEvent(input.event);
  } catch (error) {
    assert.ok(
      error instanceof InvalidEventError,
      `parseKeyEvent threw ${String(error)} instead of InvalidEventError`,
    );
    assertClipped(error.message, 400, 'the error message');
    assertNoSecret(error.message, input.secrets, 'the error message');
    return 'invalid-event';
  }
  // Pure: the same input gives the same answer.
  assert.deepEqual(parseKeyEvent(input.event), parsed);
  assertNoSecret(JSON.stringify(parsed), input.secrets, 'the parsed event');
  const detail = field(input.event, 'detail');
  if (parsed.kind === 'skip') {
    assert.ok(SKIP_REASONS.has(parsed.reason), `unknown skip reason ${parsed.reason}`);
    assertClipped(parsed.detail, 400, 'the skip detail');
    assertClipped(parsed.eventId, 128, 'the skipped event id');
    return `skip:${parsed.reason}`;
  }
  // A target only for an in-scope, successful IAM call in this account.
  assert.equal(field(input.event, 'source'), 'aws.iam');
  assert.equal(field(input.event, 'detail-type'), 'AWS API Call via CloudTrail');
  assert.equal(field(detail, 'eventSource'), 'iam.amazonaws.com');
  assert.ok((KEY_EVENT_NAMES as readonly unknown[]).includes(field(detail, 'eventName')));
  assert.ok(field(detail, 'errorCode') == null, 'a failed call became a target');
  // The target names the account both the envelope and the record claim (or the one present), 12 digits.
  assert.match(parsed.accountId, /^\d{12}$/);
  for (const claimed of [field(input.event, 'account'), field(detail, 'recipientAccountId')]) {
    assert.ok(claimed == null || claimed === parsed.accountId, 'a target in another account than claimed');
  }
  assert.match(parsed.userName, USER_NAME);
  // requestParameters.userName, when present, is the target: nothing else in the event can override it.
  const requested = field(detail, 'requestParameters', 'userName');
  if (typeof requested === 'string') assert.equal(parsed.userName, requested);
  const { trigger } = parsed;
  for (const [name, value] of Object.entries(trigger)) {
    if (typeof value === 'string') assertClipped(value, 512, `trigger.${name}`);
  }
  if (trigger.accessKeyId !== undefined) assert.match(trigger.accessKeyId, ACCESS_KEY_ID);
  if (parsed.expectation !== undefined) assert.match(parsed.expectation.accessKeyId, ACCESS_KEY_ID);
  return 'target';
}

/** parseKeyEvent over the whole input space, plus pure JSON and pure `anything`. */
export function fuzzParser(budget: FuzzBudget): Tally {
  const tally = newTally();
  const property = fc.property(
    fc.oneof({ weight: 6, arbitrary: anyInputArb }, jsonValueArb, anythingArb),
    (input) => {
      tally.runs += 1;
      tally.secretsPlanted += input.secrets.length;
      bump(tally.families, input.family);
      bump(tally.outcomes, checkParse(input));
    },
  );
  fc.assert(property, {
    numRuns: budget.numRuns,
    ...(budget.seed !== undefined ? { seed: budget.seed } : {}),
  });
  return tally;
}

const keyArb = (id: string): fc.Arbitrary<WorldKey> =>
  fc.record({
    id: fc.constant(id),
    status: fc.constantFrom('Active', 'Active', 'Inactive', 'Expired'),
    createDate: fc.date({ min: new Date('2015-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true }),
    lastUsed: fc.option(
      fc.date({ min: new Date('2015-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true }),
      {
        nil: undefined,
      },
    ),
  });

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  mode: fc.constantFrom(...REMEDIATION_MODES, 'deactivate' as const),
  keepKey: fc.constantFrom(...KEEP_KEY_STRATEGIES),
  graceHours: fc.constantFrom(0, 0, 24, 24 * 90),
  notify: fc.boolean(),
  userExists: fc.constantFrom(true, true, true, false),
  exempt: fc.constantFrom(false, false, false, true),
  nameCase: fc.constantFrom('as-asked' as const, 'as-asked' as const, 'lower' as const, 'upper' as const),
  // Two active keys (a violation) half the time; otherwise anything IAM allows (at most two keys).
  keys: fc.oneof(
    fc
      .uniqueArray(fc.stringMatching(/^AKIA[A-Z0-9]{16}$/), { minLength: 2, maxLength: 2 })
      .chain((ids) => fc.tuple(...ids.map(keyArb)))
      .map((keys) => keys.map((key) => ({ ...key, status: 'Active' }))),
    fc
      .uniqueArray(fc.stringMatching(/^AKIA[A-Z0-9]{16}$/), { minLength: 0, maxLength: 2 })
      .chain((ids) => fc.tuple(...ids.map(keyArb))),
  ),
});

/** The key a correct engine keeps, computed independently of the engine. */
function expectedKept(active: readonly WorldKey[], keepKey: Scenario['keepKey']): WorldKey {
  const byAge = [...active].sort(
    (a, b) => a.createDate.getTime() - b.createDate.getTime() || a.id.localeCompare(b.id),
  );
  const newest = byAge[byAge.length - 1] as WorldKey;
  // The engine knows no key origins here, so auto finishes a rotation like newest.
  if (keepKey === 'newest' || keepKey === 'auto') return newest;
  if (keepKey === 'oldest') return byAge[0] as WorldKey;
  const used = (key: WorldKey): number => key.lastUsed?.getTime() ?? Number.NEGATIVE_INFINITY;
  return [...byAge].reverse().reduce((best, key) => (used(key) > used(best) ? key : best), newest);
}

/** Everything logged must be free of planted secrets, and its untrusted text clipped. */
function checkLogs(lines: readonly string[], secrets: readonly string[]): void {
  for (const line of lines) {
    assertNoSecret(line, secrets, 'the logs');
    assert.ok(!/secret_?access_?key/i.test(line), 'a log line mentions a secret access key');
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      assert.fail(`a log line is not JSON: ${line.slice(0, 120)}`);
    }
    const walk = (value: unknown, key: string): void => {
      if (typeof value === 'string') {
        // A stack trace is multi-line by nature; its first line repeats the (clipped) message.
        if (key !== 'stack') assertClipped(value, 1024, `logged field ${key}`);
      } else if (typeof value === 'object' && value !== null) {
        for (const [childKey, child] of Object.entries(value)) walk(child, childKey);
      }
    };
    walk(record, '');
  }
}

/**
 * The real handler over mocked AWS: every input ends as a skip with a known reason, an evaluation, or an
 * InvalidEventError; IAM is written to only when the mocked IAM itself shows a violation to remediate, and only
 * for the user IAM confirmed; nothing planted leaks into logs, findings or notifications.
 */
export async function fuzzHandler(budget: FuzzBudget): Promise<Tally> {
  const tally = newTally();
  const world = createMockWorld();
  const records: string[] = [];
  const logger = recordingLogger(records);
  let unhandled = 0;
  const onUnhandled = (): void => {
    unhandled += 1;
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    const property = fc.asyncProperty(handlerInputArb, scenarioArb, async (input, scenario) => {
      tally.runs += 1;
      tally.secretsPlanted += input.secrets.length;
      bump(tally.families, input.family);
      records.length = 0;
      const { settled, lines } = await runDetector(world, scenario, input.event, logger);
      tally.logLines += records.length;
      const updates = world.updates();
      tally.iamWrites += updates.length;
      // What the logger printed: JSON records, clipped, without secrets. Anything else printed: no secrets.
      checkLogs(records, input.secrets);
      assert.ok(records.length >= 1, 'the handler logged nothing');
      assertNoSecret(lines.join('\n'), input.secrets, 'the process output');
      for (const sent of [...world.imports(), ...world.notifications()]) {
        assertNoSecret(JSON.stringify(sent), input.secrets, 'what was sent to AWS');
      }

      if (!settled.ok) {
        assert.ok(
          settled.error instanceof InvalidEventError,
          `the handler rejected with ${String(settled.error)} instead of InvalidEventError`,
        );
        assert.equal(world.iamCommandCount(), 0, 'an invalid event reached IAM');
        bump(tally.outcomes, 'invalid-event');
        return;
      }
      const result: DetectorResult = settled.value;
      if (result.status === 'skipped') {
        assert.ok(SKIP_REASONS.has(result.reason), `unknown skip reason ${result.reason}`);
        assert.equal(world.iamCommandCount(), 0, 'a skipped event reached IAM');
        bump(tally.outcomes, `skip:${result.reason}`);
        return;
      }
      assert.equal(result.status, 'evaluated');
      bump(tally.outcomes, `evaluated:${result.verdict}:${result.action}`);

      const active = scenario.keys.filter((key) => key.status === 'Active');
      const newestActive = Math.max(...active.map((key) => key.createDate.getTime()));
      const inGrace = newestActive + scenario.graceHours * 3_600_000 > Date.now();
      const mayWrite =
        scenario.mode === 'deactivate' &&
        scenario.userExists &&
        !scenario.exempt &&
        active.length >= 2 &&
        !inGrace;
      if (!mayWrite) {
        assert.equal(updates.length, 0, 'IAM was written to without a confirmed violation to remediate');
        return;
      }
      // Exactly the surplus keys, of the user IAM confirmed, and the right key is left active.
      assert.equal(updates.length, active.length - 1);
      const confirmed = world.confirmedNames();
      const activeIds = new Set(active.map((key) => key.id));
      for (const update of updates) {
        assert.ok(
          confirmed.includes(update.UserName ?? ''),
          `UpdateAccessKey for unconfirmed ${update.UserName}`,
        );
        assert.ok(activeIds.has(update.AccessKeyId ?? ''), 'UpdateAccessKey for a key that was not active');
        assert.equal(update.Status, 'Inactive');
      }
      const stillActive = world.keys().filter((key) => key.status === 'Active');
      assert.equal(stillActive.length, 1, 'the user was not left with exactly one active key');
      assert.equal(stillActive[0]?.id, expectedKept(active, scenario.keepKey).id, 'the wrong key was kept');
    });
    await fc.assert(property, {
      numRuns: budget.numRuns,
      ...(budget.seed !== undefined ? { seed: budget.seed } : {}),
    });
    // Let any stray rejection surface before counting.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(unhandled, 0, `${unhandled} unhandled promise rejection(s)`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return tally;
}

/** One line per tally, for CI logs and the reliability report. */
export function describeTally(name: string, tally: Tally): string {
  const sorted = (record: Record<string, number>): string =>
    Object.entries(record)
      .sort(([, a], [, b]) => b - a)
      .map(([key, count]) => `${key}=${count}`)
      .join(' ');
  const handlerOnly =
    tally.logLines > 0 ? `; IAM writes: ${tally.iamWrites}; log records checked: ${tally.logLines}` : '';
  return `[reliability] ${name}: ${tally.runs} inputs; families: ${sorted(tally.families)}; outcomes: ${sorted(tally.outcomes)}; secrets planted: ${tally.secretsPlanted}${handlerOnly}`;
}
