/**
 * Checks a finding against the ASFF rules that Security Hub enforces (and the emulator does not),
 * so an invalid finding fails here, named, instead of being rejected or ignored in production. Pure.
 */

import { AsffValidationError } from '../shared/errors.ts';
import type { Finding } from './finding.ts';

export const MAX_FINDINGS_PER_BATCH = 100;
const MAX_FINDING_BYTES = 240 * 1024;
const MAX_BATCH_BYTES = 6 * 1024 * 1024;

const SEVERITY_LABELS = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const COMPLIANCE_STATUSES = ['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE'];
const RECORD_STATES = ['ACTIVE', 'ARCHIVED'];
const TYPE_NAMESPACES = [
  'Software and Configuration Checks',
  'TTPs',
  'Effects',
  'Unusual Behaviors',
  'Sensitive Data Identifications',
];
// Fields only the customer may set, through BatchUpdateFindings; a provider's values are ignored on update.
const CUSTOMER_FIELDS = ['Note', 'UserDefinedFields', 'VerificationState', 'Workflow'] as const;
const ACTION_TYPES = ['NETWORK_CONNECTION', 'AWS_API_CALL', 'DNS_REQUEST', 'PORT_PROBE'];
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const PRODUCT_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):securityhub:([a-z0-9-]+):(\d{12}):product\/(\d{12})\/default$/;

type Problems = string[];

function text(problems: Problems, name: string, value: unknown, max: number, required = true): void {
  if (value === undefined || value === null) {
    if (required) problems.push(`${name} is required`);
    return;
  }
  if (typeof value !== 'string') problems.push(`${name} must be a string`);
  else if (value.length === 0) problems.push(`${name} must not be empty`);
  else if (value.length > max) problems.push(`${name} is ${value.length} characters, more than ${max}`);
}

function timestamp(problems: Problems, name: string, value: unknown, required = true): void {
  if (value === undefined) {
    if (required) problems.push(`${name} is required`);
    return;
  }
  if (typeof value !== 'string' || !ISO_8601.test(value) || Number.isNaN(Date.parse(value))) {
    problems.push(`${name} must be an ISO 8601 timestamp, got ${JSON.stringify(value)}`);
  }
}

function oneOf(
  problems: Problems,
  name: string,
  value: unknown,
  allowed: readonly string[],
  required = true,
): void {
  if (value === undefined) {
    if (required) problems.push(`${name} is required`);
    return;
  }
  if (typeof value !== 'string' || !allowed.includes(value)) {
    problems.push(`${name} must be one of ${allowed.join('|')}, got ${JSON.stringify(value)}`);
  }
}

function types(problems: Problems, name: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.length === 0 || value.length > 50) {
    problems.push(`${name} must be a list of 1 to 50 types`);
    return;
  }
  for (const type of value) {
    const parts = typeof type === 'string' ? type.split('/') : [];
    if (parts.length < 1 || parts.length > 3 || !TYPE_NAMESPACES.includes(parts[0] ?? '')) {
      problems.push(`${name} entry ${JSON.stringify(type)} must be namespace/category/classifier`);
    }
  }
}

function severity(problems: Problems, name: string, value: unknown, required: boolean): void {
  if (value === undefined) {
    if (required) problems.push(`${name} is required`);
    return;
  }
  if (typeof value !== 'object' || value === null) {
    problems.push(`${name} must be an object with a Label`);
    return;
  }
  const label = (value as { Label?: unknown }).Label;
  oneOf(problems, `${name}.Label`, label, SEVERITY_LABELS);
}

/** The size of a finding as sent (its JSON, in UTF-8 bytes). */
const jsonBytes = (finding: Finding): number => Buffer.byteLength(JSON.stringify(finding));

/**
 * Returns every rule the finding breaks; empty when valid. `accountId` is the calling account and `partition`,
 * when given, the partition it runs in (the product ARN must be built with it).
 */

export function asffProblems(
  finding: Finding,
  accountId: string,
  partition?: string,
  bytes: number = jsonBytes(finding),
): string[] {
  const problems: Problems = [];
  const f = finding as FindingFields;
  const arnPartition = identityProblems(problems, f, accountId, partition);
  timeProblems(problems, f);
  classificationProblems(problems, f);
  resourceProblems(problems, f, arnPartition);
  complianceProblems(problems, f);
  oneOf(problems, 'RecordState', f.RecordState, RECORD_STATES, false);
  productFieldProblems(problems, f);
  actionProblems(problems, f);
  const recommendation = f.Remediation?.Recommendation;
  if (recommendation !== undefined) {
    text(problems, 'Remediation.Recommendation.Text', recommendation.Text, 512, false);
    if (recommendation.Url !== undefined && !/^https:\/\/\S+$/.test(recommendation.Url)) {
      problems.push('Remediation.Recommendation.Url must be an https URL');
    }
  }
  for (const field of CUSTOMER_FIELDS) {
    if (f[field] !== undefined)
      problems.push(`${field} belongs to the customer (BatchUpdateFindings); a provider must not set it`);
  }
  if (bytes > MAX_FINDING_BYTES) problems.push(`finding is ${bytes} bytes, more than 240 KB`);
  return problems;
}

type FindingFields = Record<string, unknown> & Finding;

/** Schema, ids, texts, account and product ARN; returns the product ARN's partition when it parses. */
function identityProblems(
  problems: Problems,
  f: FindingFields,
  accountId: string,
  partition: string | undefined,
): string | undefined {
  if (f.SchemaVersion !== '2018-10-08')
    problems.push(`SchemaVersion must be 2018-10-08, got ${JSON.stringify(f.SchemaVersion)}`);
  text(problems, 'Id', f.Id, 512);
  text(problems, 'GeneratorId', f.GeneratorId, 512);
  text(problems, 'Title', f.Title, 256);
  text(problems, 'Description', f.Description, 1024);
  if (f.AwsAccountId !== accountId)
    problems.push(
      `AwsAccountId must be the calling account ${accountId}, got ${JSON.stringify(f.AwsAccountId)}`,
    );
  const arn = typeof f.ProductArn === 'string' ? PRODUCT_ARN.exec(f.ProductArn) : null;
  if (arn === null)
    problems.push(
      `ProductArn must be arn:<partition>:securityhub:<region>:<account>:product/<account>/default, got ${JSON.stringify(f.ProductArn)}`,
    );
  else {
    if (arn[3] !== accountId || arn[4] !== accountId)
      problems.push(`ProductArn must name account ${accountId}`);
    if (partition !== undefined && arn[1] !== partition)
      problems.push(`ProductArn must be in partition ${partition}, got ${arn[1]}`);
  }
  return arn?.[1];
}

function timeProblems(problems: Problems, f: FindingFields): void {
  timestamp(problems, 'CreatedAt', f.CreatedAt);
  timestamp(problems, 'UpdatedAt', f.UpdatedAt);
  timestamp(problems, 'FirstObservedAt', f.FirstObservedAt, false);
  timestamp(problems, 'LastObservedAt', f.LastObservedAt, false);
  if (
    typeof f.CreatedAt === 'string' &&
    typeof f.UpdatedAt === 'string' &&
    Date.parse(f.UpdatedAt) < Date.parse(f.CreatedAt)
  ) {
    problems.push('UpdatedAt must not be before CreatedAt');
  }
}

function classificationProblems(problems: Problems, f: FindingFields): void {
  severity(problems, 'Severity', f.Severity, f.FindingProviderFields?.Severity === undefined);
  types(problems, 'Types', f.Types);
  if (f.FindingProviderFields !== undefined) {
    severity(problems, 'FindingProviderFields.Severity', f.FindingProviderFields.Severity, false);
    types(problems, 'FindingProviderFields.Types', f.FindingProviderFields.Types);
  }
  if (f.Types === undefined && f.FindingProviderFields?.Types === undefined)
    problems.push('Types is required');
}

function resourceProblems(problems: Problems, f: FindingFields, arnPartition: string | undefined): void {
  if (!Array.isArray(f.Resources) || f.Resources.length < 1 || f.Resources.length > 32) {
    problems.push('Resources must hold 1 to 32 resources');
    return;
  }
  f.Resources.forEach((resource, index) => {
    text(problems, `Resources[${index}].Type`, resource?.Type, 256);
    text(problems, `Resources[${index}].Id`, resource?.Id, 512);
    if (
      resource?.Partition !== undefined &&
      arnPartition !== undefined &&
      resource.Partition !== arnPartition
    )
      problems.push(
        `Resources[${index}].Partition ${resource.Partition} differs from the ProductArn's ${arnPartition}`,
      );
    const status = resource?.Details?.AwsIamAccessKey?.Status;
    if (status !== undefined)
      oneOf(problems, `Resources[${index}].Details.AwsIamAccessKey.Status`, status, ['Active', 'Inactive']);
  });
}

function complianceProblems(problems: Problems, f: FindingFields): void {
  if (f.Compliance === undefined) return;
  oneOf(problems, 'Compliance.Status', f.Compliance.Status, COMPLIANCE_STATUSES, false);
  const related = f.Compliance.RelatedRequirements;
  if (
    related !== undefined &&
    (!Array.isArray(related) ||
      related.length > 32 ||
      related.some((r) => typeof r !== 'string' || r.length === 0))
  ) {
    problems.push('Compliance.RelatedRequirements must hold at most 32 non-empty strings');
  }
  const reasons = f.Compliance.StatusReasons ?? [];
  if (!Array.isArray(reasons)) problems.push('Compliance.StatusReasons must be a list');
  else
    for (const [index, reason] of reasons.entries()) {
      text(problems, `Compliance.StatusReasons[${index}].ReasonCode`, reason?.ReasonCode, 256);
      text(problems, `Compliance.StatusReasons[${index}].Description`, reason?.Description, 2048, false);
    }
}

function productFieldProblems(problems: Problems, f: FindingFields): void {
  if (f.ProductFields === undefined) return;
  const entries = Object.entries(f.ProductFields);
  if (entries.length > 50) problems.push(`ProductFields holds ${entries.length} pairs, more than 50`);
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > 128)
      problems.push(`ProductFields key ${JSON.stringify(key.slice(0, 40))} must be 1 to 128 characters`);
    if (key.startsWith('aws/'))
      problems.push(`ProductFields key ${JSON.stringify(key)} must not start with aws/`);
    if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
      problems.push(`ProductFields value of ${JSON.stringify(key)} must be 1 to 2048 characters`);
    }
  }
}

function actionProblems(problems: Problems, f: FindingFields): void {
  const action = f.Action;
  if (action === undefined) return;
  oneOf(problems, 'Action.ActionType', action.ActionType, ACTION_TYPES, false);
  const call = action.AwsApiCallAction;
  if (call === undefined) return;
  text(problems, 'Action.AwsApiCallAction.Api', call.Api, 128, false);
  text(problems, 'Action.AwsApiCallAction.ServiceName', call.ServiceName, 128, false);
  oneOf(problems, 'Action.AwsApiCallAction.CallerType', call.CallerType, ['remoteip', 'domain'], false);
  const ip = call.RemoteIpDetails?.IpAddressV4;
  if (ip !== undefined && !IPV4.test(ip))
    problems.push(
      `Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4 ${JSON.stringify(ip)} is not an IPv4 address`,
    );
  text(problems, 'Action.AwsApiCallAction.DomainDetails.Domain', call.DomainDetails?.Domain, 128, false);
  timestamp(problems, 'Action.AwsApiCallAction.FirstSeen', call.FirstSeen, false);
  timestamp(problems, 'Action.AwsApiCallAction.LastSeen', call.LastSeen, false);
}

/** Throws AsffValidationError for the first invalid finding, or when the batch breaks a batch limit. */
export function assertValidBatch(findings: readonly Finding[], accountId: string, partition?: string): void {
  if (findings.length > MAX_FINDINGS_PER_BATCH) {
    throw new AsffValidationError('(batch)', [
      `${findings.length} findings, more than ${MAX_FINDINGS_PER_BATCH} in one call`,
    ]);
  }
  // Each finding is serialized once: the batch's JSON is theirs joined by commas inside brackets.
  const sizes = findings.map(jsonBytes);
  const bytes = sizes.reduce((sum, size) => sum + size, 0) + Math.max(findings.length - 1, 0) + 2;
  if (bytes > MAX_BATCH_BYTES)
    throw new AsffValidationError('(batch)', [`${bytes} bytes, more than 6 MB in one call`]);
  for (const [index, finding] of findings.entries()) {
    const problems = asffProblems(finding, accountId, partition, sizes[index]);
    if (problems.length > 0) throw new AsffValidationError(String(finding.Id), problems);
  }
}
