/**
 * IAM's ArnLike, for the ARN patterns that grant trust (trusted key issuers, exemption approvers). Pure.
 *
 * Both ARNs are split into their six parts at the first five colons (the resource part keeps any further colon) and
 * compared part by part: `*` matches any run of characters and `?` one character, both within a part only, so a
 * wildcard never reaches across a colon into the next part. Case-sensitive, as IAM's ArnLike is.
 */

import { arnParts } from '../shared/constants.ts';

/** One part of a pattern as an anchored regular expression: `*` and `?` are wildcards, the rest literal. */
function partMatcher(part: string): RegExp {
  const source = [...part]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's');
}

const compiled = new Map<string, readonly RegExp[] | undefined>();

function matchersOf(pattern: string): readonly RegExp[] | undefined {
  if (!compiled.has(pattern)) compiled.set(pattern, arnParts(pattern)?.map(partMatcher));
  return compiled.get(pattern);
}

/** Whether `arn` matches `pattern` as IAM's ArnLike compares them; an empty or malformed ARN matches nothing. */
export function arnLike(pattern: string, arn: string): boolean {
  const matchers = matchersOf(pattern);
  const parts = arnParts(arn);
  if (matchers === undefined || parts === undefined) return false;
  return matchers.every((matcher, index) => matcher.test(parts[index] ?? ''));
}

/** The first of `patterns` that `arn` matches, or undefined. */
export function firstArnLike(patterns: readonly string[], arn: string): string | undefined {
  return patterns.find((pattern) => arnLike(pattern, arn));
}
