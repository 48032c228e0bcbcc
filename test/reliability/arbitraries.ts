/**
 * fast-check arbitraries for the detector's input: real CloudTrail events (from test/fixtures) wrapped in their
 * EventBridge envelope, then truncated or mutated; arbitrary JSON; and secrets planted where no field should
 * ever be echoed. Shared by the CI fuzz test and `scripts/fuzz.ts`; no test-runner dependency.
 */

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { KEY_EVENT_NAMES } from '../../functions/shared/constants.ts';

/** The account the fuzzed detector runs in: every fixture is rewritten to belong to it. */
export const ACCOUNT_ID = '123456789012';
export const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:keywarden-detector`;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fixture(name: string): JsonObject {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/cloudtrail/${name}`, import.meta.url), 'utf8'),
  ) as JsonObject;
}

/** A CloudTrail record as EventBridge delivers it, in ACCOUNT_ID. */
export function envelope(record: JsonObject, id: string): JsonObject {
  return {
    version: '0',
    id,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: ACCOUNT_ID,
    time: '2024-07-30T21:53:16Z',
    region: 'us-east-1',
    resources: [],
    detail: { eventSource: 'iam.amazonaws.com', ...record, recipientAccountId: ACCOUNT_ID },
  };
}

function inAccount(event: JsonObject): JsonObject {
  const detail = isObject(event.detail) ? event.detail : {};
  return { ...event, account: ACCOUNT_ID, detail: { ...detail, recipientAccountId: ACCOUNT_ID } };
}

/** The real fixture events, each in its EventBridge envelope and in ACCOUNT_ID. */
export const BASE_EVENTS: readonly JsonObject[] = [
  inAccount(fixture('eventbridge-create-access-key-iam-user.json')),
  envelope(fixture('record-create-access-key-for-other-user.json'), '00000000-0000-4000-8000-000000000002'),
  envelope(fixture('record-create-access-key-root-self.json'), '00000000-0000-4000-8000-000000000003'),
  envelope(
    fixture('record-create-access-key-error-limit-exceeded.json'),
    '00000000-0000-4000-8000-000000000004',
  ),
  envelope(
    {
      eventID: 'a0a0a0a0-0000-4000-8000-000000000005',
      eventName: 'UpdateAccessKey',
      ...fixture('record-update-access-key-assumed-role-excerpt.json'),
    },
    '00000000-0000-4000-8000-000000000005',
  ),
];

/** Paths the parser reads: mutated more often than the rest. */
export const INTERESTING_PATHS: readonly (readonly string[])[] = [
  ['source'],
  ['detail-type'],
  ['account'],
  ['detail'],
  ['detail', 'eventSource'],
  ['detail', 'eventName'],
  ['detail', 'eventID'],
  ['detail', 'recipientAccountId'],
  ['detail', 'errorCode'],
  ['detail', 'userAgent'],
  ['detail', 'userIdentity'],
  ['detail', 'userIdentity', 'type'],
  ['detail', 'userIdentity', 'userName'],
  ['detail', 'userIdentity', 'arn'],
  ['detail', 'requestParameters'],
  ['detail', 'requestParameters', 'userName'],
  ['detail', 'requestParameters', 'accessKeyId'],
  ['detail', 'requestParameters', 'status'],
  ['detail', 'responseElements'],
  ['detail', 'responseElements', 'accessKey'],
  ['detail', 'responseElements', 'accessKey', 'userName'],
  ['detail', 'responseElements', 'accessKey', 'accessKeyId'],
];

const CONTROL = fc.string({
  unit: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
});

/** A valid IAM user name (1-64 of [\w+=,.@-]). */
export const userNameArb = fc.stringMatching(/^[\w+=,.@-]{1,64}$/);

const nearUserNameArb = fc.oneof(
  fc.stringMatching(/^[\w+=,.@-]{65,80}$/),
  fc.tuple(userNameArb, CONTROL, userNameArb).map(([a, b, c]) => `${a}${b}${c}`),
  fc
    .tuple(userNameArb, fc.constantFrom(' ', '/', '*', '\u202e', '\u0000', '"', '\\', '\u0024{jndi:x}'))
    .map(([name, bad]) => `${name}${bad}`),
  userNameArb.map((name) => name.toUpperCase()),
);

const accessKeyIdArb = fc.oneof(
  fc.stringMatching(/^AKIA[A-Z0-9]{16}$/),
  fc.stringMatching(/^[A-Z0-9]{1,20}$/),
  fc.string({ maxLength: 30 }),
);

/** Strings large enough to matter: up to just over EventBridge's 256 KB event limit. */
const hugeStringArb = fc
  .tuple(fc.integer({ min: 10_000, max: 270_000 }), fc.constantFrom('A', 'é', '\u0007', '😀', ' '))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));

/** Values that replace a field: wrong types, nulls, odd text, huge text, and the right type with odd content. */
export const replacementArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(0), fc.constant('')),
  },
  { weight: 2, arbitrary: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
  { weight: 2, arbitrary: CONTROL },
  { weight: 1, arbitrary: hugeStringArb },
  { weight: 3, arbitrary: userNameArb },
  { weight: 2, arbitrary: nearUserNameArb },
  { weight: 2, arbitrary: accessKeyIdArb },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...KEY_EVENT_NAMES,
      'CreateUser',
      'createaccesskey',
      'aws.iam',
      'aws.sts',
      'iam.amazonaws.com',
      'AWS API Call via CloudTrail',
      ACCOUNT_ID,
      '210987654321',
      'IAMUser',
      'Root',
      'AssumedRole',
      'Active',
      'Inactive',
      'Expired',
      'keywarden/0.1.0',
      'aws-cli/2 keywarden/0.1.0',
      'AccessDenied',
    ),
  },
);

export type Mutation =
  | { readonly kind: 'delete'; readonly pick: number; readonly interesting: boolean }
  | {
      readonly kind: 'replace';
      readonly pick: number;
      readonly interesting: boolean;
      readonly value: unknown;
    };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat(), interesting: fc.boolean() }),
  fc.record({
    kind: fc.constant('replace' as const),
    pick: fc.nat(),
    interesting: fc.boolean(),
    value: replacementArb,
  }),
);

/** Every path to a node of `value` (objects and arrays, leaves included), excluding the root. */
export function pathsOf(value: unknown, prefix: readonly string[] = []): string[][] {
  const children: [string, unknown][] = Array.isArray(value)
    ? value.map((child, index) => [String(index), child])
    : isObject(value)
      ? Object.entries(value)
      : [];
  return children.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function parentOf(root: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : undefined;
}

function copyOf<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch {
    // Not cloneable (a value with a function or symbol inside): nothing plants into such a value.
    return value;
  }
}

/** Applies mutations to a deep copy; a mutation whose path no longer exists is skipped. */
export function mutate(event: JsonObject, mutations: readonly Mutation[]): unknown {
  const copy = structuredClone(event) as Record<string, unknown>;
  for (const mutation of mutations) {
    const candidates = mutation.interesting ? INTERESTING_PATHS : pathsOf(copy);
    const path = candidates[mutation.pick % Math.max(candidates.length, 1)];
    if (path === undefined || path.length === 0) continue;
    const key = path[path.length - 1] as string;
    const parent = mutation.interesting ? ensureParent(copy, path) : parentOf(copy, path);
    if (parent === undefined) continue;
    if (mutation.kind === 'delete') delete parent[key];
    // A copy: a later mutation may reach inside it, and fast-check reuses generated values while shrinking.
    else parent[key] = copyOf(mutation.value);
  }
  return copy;
}

function ensureParent(
  root: Record<string, unknown>,
  path: readonly string[],
): Record<string, unknown> | undefined {
  let node: Record<string, unknown> = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null) return undefined;
    node = node[key] as Record<string, unknown>;
  }
  return node;
}

/** A 40-character, base64-alphabet string: what a secret access key looks like. */
export const secretArb = fc.stringMatching(/^[A-Za-z0-9+/]{40}$/);

/**
 * Where secrets are planted: fields a record could carry that KeyWarden must never echo. Fields that exist to
 * be echoed (event id, user name, caller ARN, user agent) are checked for clipping instead.
 */
export const SECRET_PATHS: readonly (readonly string[])[] = [
  ['detail', 'responseElements', 'accessKey', 'secretAccessKey'],
  ['detail', 'responseElements', 'accessKey', 'SecretAccessKey'],
  ['detail', 'requestParameters', 'secretAccessKey'],
  ['detail', 'additionalEventData', 'SecretAccessKey'],
  ['detail', 'userIdentity', 'sessionContext', 'sessionToken'],
  ['detail', 'requestParameters', 'password'],
  ['detail', 'tlsDetails', 'clientProvidedHostHeader'],
  ['SecretAccessKey'],
];

/** Writes `secret` at `path`, creating objects on the way; does nothing where a non-object is in the way. */
export function plant(event: unknown, path: readonly string[], secret: string): void {
  if (!isObject(event)) return;
  const parent = ensureParent(event as Record<string, unknown>, path);
  const key = path[path.length - 1];
  if (parent !== undefined && key !== undefined) parent[key] = secret;
}

export interface FuzzCase {
  /** What kind of input this is, for the outcome tally. */
  readonly family: 'mutated-fixture' | 'truncated-json' | 'shaped-envelope' | 'json-value' | 'anything';
  readonly event: unknown;
  readonly secrets: readonly string[];
}

const plantedArb = fc.array(fc.tuple(fc.constantFrom(...SECRET_PATHS), secretArb), {
  minLength: 1,
  maxLength: 3,
});

function withSecrets(
  family: FuzzCase['family'],
  event: unknown,
  planted: [readonly string[], string][],
): FuzzCase {
  for (const [path, secret] of planted) plant(event, path, secret);
  return { family, event, secrets: planted.map(([, secret]) => secret) };
}

/** Real fixtures with secrets planted, then 0-4 mutations (mutations come after, so they may remove secrets). */
export const mutatedFixtureArb: fc.Arbitrary<FuzzCase> = fc
  .tuple(
    fc.constantFrom(...BASE_EVENTS),
    plantedArb,
    // Few mutations half the time, so that many inputs stay close enough to real events to reach IAM.
    fc.oneof(fc.array(mutationArb, { maxLength: 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 })),
  )
  .map(([base, planted, mutations]) => {
    const seeded = structuredClone(base);
    const secrets = withSecrets('mutated-fixture', seeded, planted).secrets;
    return { family: 'mutated-fixture' as const, event: mutate(seeded, mutations), secrets };
  });

/** A fixture's JSON text cut short: what arrives if a producer truncates; parsed when it still parses. */
export const truncatedArb: fc.Arbitrary<FuzzCase> = fc
  .tuple(fc.constantFrom(...BASE_EVENTS), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([base, fraction]) => {
    const text = JSON.stringify(base);
    const cut = text.slice(0, Math.floor(text.length * fraction));
    let event: unknown = cut;
    try {
      event = JSON.parse(cut);
    } catch {
      // Not JSON any more: the handler gets the string itself.
    }
    return { family: 'truncated-json' as const, event, secrets: [] };
  });

/** The right envelope around an arbitrary detail, so generation reaches past the first checks. */
export const shapedEnvelopeArb: fc.Arbitrary<FuzzCase> = fc
  .tuple(
    fc.record(
      {
        eventSource: fc.constant('iam.amazonaws.com'),
        eventName: fc.constantFrom(...KEY_EVENT_NAMES),
        eventID: fc.oneof(fc.uuid(), fc.string(), hugeStringArb, CONTROL),
        recipientAccountId: fc.constant(ACCOUNT_ID),
        userIdentity: fc.oneof(
          fc.record(
            { type: replacementArb, userName: replacementArb, arn: replacementArb },
            { requiredKeys: [] },
          ),
          replacementArb,
        ),
        requestParameters: fc.oneof(
          fc.record(
            {
              userName: fc.oneof({ weight: 3, arbitrary: userNameArb }, replacementArb),
              accessKeyId: fc.oneof(accessKeyIdArb, replacementArb),
              status: fc.oneof(fc.constantFrom('Active', 'Inactive'), replacementArb),
            },
            { requiredKeys: [] },
          ),
          replacementArb,
        ),
        responseElements: fc.oneof(
          fc.record(
            {
              accessKey: fc.oneof(
                fc.record({ userName: replacementArb, accessKeyId: replacementArb }, { requiredKeys: [] }),
                replacementArb,
              ),
            },
            { requiredKeys: [] },
          ),
          replacementArb,
        ),
        userAgent: fc.oneof(fc.string(), replacementArb),
        errorCode: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, replacementArb),
        sourceIPAddress: replacementArb,
      },
      { requiredKeys: ['eventSource', 'eventName', 'recipientAccountId', 'requestParameters'] },
    ),
    plantedArb,
  )
  .map(([detail, planted]) =>
    withSecrets(
      'shaped-envelope',
      {
        'detail-type': 'AWS API Call via CloudTrail',
        source: 'aws.iam',
        account: ACCOUNT_ID,
        // Generated values are fast-check's to reuse while shrinking: plant into a copy.
        detail: copyOf(detail),
      },
      planted,
    ),
  );

export const jsonValueArb: fc.Arbitrary<FuzzCase> = fc
  .jsonValue()
  .map((event) => ({ family: 'json-value' as const, event, secrets: [] }));

export const anythingArb: fc.Arbitrary<FuzzCase> = fc
  .anything({
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withSparseArray: true,
  })
  .map((event) => ({ family: 'anything' as const, event, secrets: [] }));

/** The whole input space, weighted towards events that reach the deeper checks. */
export const anyInputArb: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 5, arbitrary: mutatedFixtureArb },
  { weight: 1, arbitrary: truncatedArb },
  { weight: 2, arbitrary: shapedEnvelopeArb },
  { weight: 1, arbitrary: jsonValueArb },
  { weight: 1, arbitrary: anythingArb },
);

/** For the handler, whose runs cost more: mostly inputs that get past parsing to IAM. */
export const handlerInputArb: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 6, arbitrary: mutatedFixtureArb },
  { weight: 2, arbitrary: shapedEnvelopeArb },
  { weight: 1, arbitrary: truncatedArb },
  { weight: 1, arbitrary: jsonValueArb },
  { weight: 1, arbitrary: anythingArb },
);
