/**
 * The attributes OCSF 1.1.0 requires of the two classes KeyWarden exports, from the schema
 * (github.com/ocsf/ocsf-schema, v1.1.0): base_event.json (activity_id, category_uid, class_uid, metadata,
 * severity_id, time, type_uid), objects/metadata.json (product, version), objects/product.json (vendor_name),
 * events/findings/finding.json (finding_info) and objects/finding_info.json (uid, title), the cloud profile
 * (cloud.provider), events/findings/compliance_finding.json (compliance) with objects/compliance.json (standards),
 * and events/findings/detection_finding.json. Enumerations are checked where the class defines them.
 */

import { expect } from 'vitest';

const REQUIRED_BY_CLASS: Readonly<Record<number, readonly string[]>> = {
  2003: ['compliance', 'compliance.standards'],
  2004: [],
};
const REQUIRED = [
  'activity_id',
  'category_uid',
  'class_uid',
  'metadata',
  'metadata.product',
  'metadata.product.vendor_name',
  'metadata.version',
  'severity_id',
  'time',
  'type_uid',
  'finding_info',
  'finding_info.uid',
  'finding_info.title',
  'cloud.provider',
];

function at(event: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], event);
}

/** Fails naming each missing required attribute, or a value outside its enumeration. */
export function expectOcsfEvent(event: Record<string, unknown>): void {
  const classUid = event.class_uid as number;
  expect(Object.keys(REQUIRED_BY_CLASS)).toContain(String(classUid));
  const missing = [...REQUIRED, ...(REQUIRED_BY_CLASS[classUid] ?? [])].filter((path) => {
    const value = at(event, path);
    return value === undefined || value === null || value === '';
  });
  expect(missing, `missing required OCSF attributes in ${String(at(event, 'finding_info.uid'))}`).toEqual([]);
  expect(event.category_uid).toBe(2);
  expect([1, 2, 3, 99]).toContain(event.activity_id);
  expect(event.type_uid).toBe(classUid * 100 + (event.activity_id as number));
  expect([0, 1, 2, 3, 4, 5, 6, 99]).toContain(event.severity_id);
  expect(Number.isInteger(event.time)).toBe(true);
  expect(at(event, 'metadata.version')).toMatch(/^1\.\d+\.\d+$/);
  if (event.status_id !== undefined) expect([0, 1, 2, 3, 4, 99]).toContain(event.status_id);
  if (classUid === 2003) {
    expect(Array.isArray(at(event, 'compliance.standards'))).toBe(true);
    expect([0, 1, 2, 3, 99]).toContain(at(event, 'compliance.status_id'));
  }
}
