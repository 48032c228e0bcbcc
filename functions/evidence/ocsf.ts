/**
 * KeyWarden's ASFF findings as OCSF 1.1.0 events (JSON lines), for a Security Lake custom source or any OCSF store:
 * a CIS 1.13 finding becomes a Compliance Finding (class 2003), a T1098.001 finding a Detection Finding (class
 * 2004). The mapping is documented field by field in docs/report.md. Pure.
 */

import { type Finding, GENERATOR_ID } from '../core/finding.ts';
import { THREAT_GENERATOR_ID, THREAT_REFERENCE_URL, threatRecordOf } from '../core/threat-finding.ts';

export const OCSF_VERSION = '1.1.0';
export const OCSF_CLASS = { compliance: 2003, detection: 2004 } as const;
const FINDINGS_CATEGORY = { uid: 2, name: 'Findings' } as const;

const SEVERITY: Readonly<Record<string, { id: number; name: string }>> = {
  INFORMATIONAL: { id: 1, name: 'Informational' },
  LOW: { id: 2, name: 'Low' },
  MEDIUM: { id: 3, name: 'Medium' },
  HIGH: { id: 4, name: 'High' },
  CRITICAL: { id: 5, name: 'Critical' },
};
const ACTIVITY: Readonly<Record<number, string>> = { 1: 'Create', 2: 'Update', 3: 'Close' };
const FINDING_STATUS: Readonly<Record<string, { id: number; name: string }>> = {
  NEW: { id: 1, name: 'New' },
  NOTIFIED: { id: 2, name: 'In Progress' },
  SUPPRESSED: { id: 3, name: 'Suppressed' },
  RESOLVED: { id: 4, name: 'Resolved' },
};
const COMPLIANCE_STATUS: Readonly<Record<string, { id: number; name: string }>> = {
  PASSED: { id: 1, name: 'Pass' },
  WARNING: { id: 2, name: 'Warning' },
  FAILED: { id: 3, name: 'Fail' },
};

export interface OcsfContext {
  readonly version: string;
  /** When the report was made: OCSF's `metadata.logged_time`. */
  readonly loggedAt: Date;
}

type OcsfEvent = Record<string, unknown>;

const epoch = (text: string | undefined): number | undefined => {
  const ms = text ? Date.parse(text) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
};

/** A finding is closed once it passes or is archived; otherwise created (first write) or updated. */
function activityOf(finding: Finding): number {
  if (finding.RecordState === 'ARCHIVED' || finding.Compliance?.Status === 'PASSED') return 3;
  return finding.CreatedAt === finding.UpdatedAt ? 1 : 2;
}

/** The workflow status when Security Hub set one; else New while open and Resolved once closed. */
function statusOf(finding: Finding, activity: number): { id: number; name: string } {
  const workflow = finding.Workflow?.Status;
  if (workflow !== undefined && FINDING_STATUS[workflow]) return FINDING_STATUS[workflow];
  return activity === 3 ? { id: 4, name: 'Resolved' } : { id: 1, name: 'New' };
}

function resourcesOf(finding: Finding): OcsfEvent[] {
  return (finding.Resources ?? []).map((resource) => ({
    uid: resource.Id,
    type: resource.Type,
    region: resource.Region,
    cloud_partition: resource.Partition,
    ...(resource.Details ? { data: resource.Details } : {}),
  }));
}

/** Who reported the finding, and when it was logged. */
function metadataOf(finding: Finding, context: OcsfContext): OcsfEvent {
  return {
    version: OCSF_VERSION,
    profiles: ['cloud'],
    uid: finding.Id,
    product: {
      name: finding.ProductName ?? 'KeyWarden',
      vendor_name: finding.CompanyName ?? 'KeyWarden',
      uid: finding.ProductArn,
      version: context.version,
    },
    logged_time: context.loggedAt.getTime(),
    original_time: finding.UpdatedAt,
  };
}

/** The finding itself: ids, texts, times, and the rule that raised it. */
function findingInfoOf(finding: Finding): OcsfEvent {
  const updated = epoch(finding.UpdatedAt);
  return {
    uid: finding.Id,
    title: finding.Title,
    desc: finding.Description,
    types: finding.Types,
    created_time: epoch(finding.CreatedAt),
    modified_time: updated,
    first_seen_time: epoch(finding.FirstObservedAt ?? finding.CreatedAt),
    last_seen_time: epoch(finding.LastObservedAt ?? finding.UpdatedAt),
    product_uid: finding.ProductArn,
    analytic: { uid: finding.GeneratorId, name: finding.GeneratorId, type_id: 1, type: 'Rule' },
  };
}

/** The attributes both classes share, from the ASFF fields of the same meaning. */
function common(finding: Finding, classUid: number, className: string, context: OcsfContext): OcsfEvent {
  const activity = activityOf(finding);
  const severity = SEVERITY[finding.Severity?.Label ?? ''] ?? { id: 0, name: 'Unknown' };
  const status = statusOf(finding, activity);
  const updated = epoch(finding.UpdatedAt);
  return {
    activity_id: activity,
    activity_name: ACTIVITY[activity],
    category_uid: FINDINGS_CATEGORY.uid,
    category_name: FINDINGS_CATEGORY.name,
    class_uid: classUid,
    class_name: className,
    type_uid: classUid * 100 + activity,
    type_name: `${className}: ${ACTIVITY[activity]}`,
    severity_id: severity.id,
    severity: severity.name,
    status_id: status.id,
    status: status.name,
    time: updated,
    message: finding.Title,
    metadata: metadataOf(finding, context),
    cloud: {
      provider: 'AWS',
      region: finding.Region,
      account: { uid: finding.AwsAccountId, type_id: 10, type: 'AWS Account' },
    },
    finding_info: findingInfoOf(finding),
    resources: resourcesOf(finding),
    ...(finding.Remediation?.Recommendation
      ? {
          remediation: {
            desc: finding.Remediation.Recommendation.Text,
            references: finding.Remediation.Recommendation.Url
              ? [finding.Remediation.Recommendation.Url]
              : [],
          },
        }
      : {}),
    unmapped: {
      record_state: finding.RecordState,
      ...(finding.Workflow?.Status ? { workflow_status: finding.Workflow.Status } : {}),
      product_fields: finding.ProductFields ?? {},
    },
  };
}

/** A CIS 1.13 finding as an OCSF Compliance Finding (2003). */
export function complianceFinding(finding: Finding, context: OcsfContext): OcsfEvent {
  const event = common(finding, OCSF_CLASS.compliance, 'Compliance Finding', context);
  const requirements = finding.Compliance?.RelatedRequirements ?? [];
  const reason = finding.Compliance?.StatusReasons?.[0];
  const status = COMPLIANCE_STATUS[finding.Compliance?.Status ?? ''] ?? { id: 0, name: 'Unknown' };
  return {
    ...event,
    compliance: {
      // "CIS AWS Foundations Benchmark v3.0.0/1.13": the standard before the slash, the control after it.
      standards: [...new Set(requirements.map((r) => r.split('/')[0] ?? r))],
      requirements,
      control: requirements[0]?.split('/')[1] ?? '1.13',
      status_id: status.id,
      status: status.name,
      ...(reason?.ReasonCode ? { status_code: reason.ReasonCode } : {}),
      ...(reason?.Description ? { status_detail: reason.Description } : {}),
    },
  };
}

/** A T1098.001 finding as an OCSF Detection Finding (2004), with the ATT&CK technique and the API call. */
export function detectionFinding(finding: Finding, context: OcsfContext): OcsfEvent {
  const event = common(finding, OCSF_CLASS.detection, 'Detection Finding', context);
  const record = threatRecordOf(finding);
  const info = event.finding_info as OcsfEvent;
  return {
    ...event,
    finding_info: {
      ...info,
      attacks: [
        {
          version: 'v15',
          tactic: { uid: 'TA0003', name: 'Persistence' },
          technique: { uid: 'T1098', name: 'Account Manipulation' },
          sub_technique: {
            uid: 'T1098.001',
            name: 'Additional Cloud Credentials',
            src_url: THREAT_REFERENCE_URL,
          },
        },
      ],
    },
    ...(record
      ? {
          evidences: [
            {
              actor: { user: { uid: record.actorArn, type: record.actorType } },
              api: { operation: record.eventName, service: { name: 'iam.amazonaws.com' } },
              ...(record.sourceIp ? { src_endpoint: { ip: record.sourceIp } } : {}),
            },
          ],
        }
      : {}),
  };
}

/** One OCSF event per compliance and threat finding, one JSON object a line; other findings are left out. */
export function renderOcsf(findings: readonly Finding[], context: OcsfContext): string {
  return findings
    .flatMap((finding) => {
      if (finding.GeneratorId === GENERATOR_ID) return [complianceFinding(finding, context)];
      if (finding.GeneratorId === THREAT_GENERATOR_ID) return [detectionFinding(finding, context)];
      return [];
    })
    .map((event) => `${JSON.stringify(event)}\n`)
    .join('');
}
