/** `keywarden report`: its options, parsed and validated. Pure: the environment is not read here. */

import { DEFAULT_SINCE_DAYS } from '../evidence/model.ts';
import { MEMBER_OPTIONS, type MemberScan, membersFrom } from './members.ts';
import { blankValueProblem, type OptionTable, parseOptions, regionProblem } from './options.ts';

export const REPORT_FORMATS = ['html', 'csv', 'json', 'ocsf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
/** `--since`: Security Hub deletes findings not updated for 90 days, so longer periods show less, not more. */
export const SINCE_DAYS = { default: DEFAULT_SINCE_DAYS, min: 1, max: 365 } as const;

export interface ReportOptions {
  readonly format: ReportFormat;
  /** Undefined: stdout. */
  readonly output: string | undefined;
  readonly sinceDays: number;
  readonly profile: string | undefined;
  readonly region: string | undefined;
  /** Undefined: the caller's account only. */
  readonly members: MemberScan | undefined;
}

export type ReportCommand =
  | { readonly kind: 'report'; readonly options: ReportOptions }
  | { readonly kind: 'report-help' }
  | { readonly kind: 'usage-error'; readonly message: string };

export const REPORT_HELP = `Usage: keywarden report [--format html|csv|json|ocsf] [--output FILE] [--since DAYS]
       keywarden report --accounts ID[,ID...] --role-name NAME [options]
       keywarden report --organization --role-name NAME [options]
       keywarden report --organization --ous OU[,OU...] --role-name NAME [options]

Evidence for CIS AWS Foundations Benchmark v3.0.0 1.13 (v5.0.0 1.12, v6.0.0
2.12) from KeyWarden's findings in Security Hub and a read of IAM: the share of
users compliant now, open violations with their keys and usage, exemptions,
violations resolved in the period (how, by whom, time to resolve), keys made
usable by another principal (T1098.001), and accounts that are blind or could
not be read. Reads only; changes nothing.

Options:
  --format html|csv|json|ocsf  html: one self-contained page (prints to A4);
                             csv: one row per user and account; json: the same
                             data as the page; ocsf: OCSF 1.1.0 JSON lines, one
                             Compliance Finding (2003) or Detection Finding (2004)
                             per finding (default: html)
  -o, --output FILE          write the report to FILE (default: stdout)
  --since DAYS               the period, in days up to now, ${SINCE_DAYS.min} to ${SINCE_DAYS.max} (default: ${SINCE_DAYS.default})
  --accounts ID[,ID...]      report on these 12-digit account ids (repeatable)
  --organization             report on every ACTIVE account of the organization
                             (organizations:ListAccounts)
  --ous OU[,OU...]           with --organization: only the ACTIVE accounts under these
                             OUs or the root (r-...), nested OUs included, as the member
                             StackSet targets them (repeatable)
  --role-name NAME           the member role to read each account through
  --profile NAME             AWS profile (default: the standard credential chain)
  --region REGION            region of Security Hub and STS (default: the profile's or AWS_REGION)
  -h, --help                 show this help

Permissions: sts:GetCallerIdentity, securityhub:GetFindings,
iam:GenerateCredentialReport, iam:GetCredentialReport; with --organization also
organizations:ListAccounts, or with --ous organizations:ListAccountsForParent and
organizations:ListOrganizationalUnitsForParent; with a member role, sts:AssumeRole on it.

Exit codes:
  0   the report was written
  1   an account could not be read (the others are reported), or no report
  64  usage error
`;

/** The options `keywarden report` reads; docs/configuration.md lists each (a test compares the two). */
export const REPORT_OPTIONS = {
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  since: { type: 'string' },
  ...MEMBER_OPTIONS,
  profile: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionTable;

/** `keywarden report`'s exit codes: written, an account unreadable (or no report), usage error. */
export const REPORT_EXIT_CODES = [0, 1, 64] as const;

/** Parses `report ...` (argv without node and the script). */
export function parseReportCommandLine(argv: readonly string[]): ReportCommand {
  const parsed = parseOptions(argv, REPORT_OPTIONS, 'keywarden report');
  if (typeof parsed === 'string') return { kind: 'usage-error', message: parsed };
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'report-help' };
  const [, ...extra] = positionals;
  if (extra.length > 0)
    return { kind: 'usage-error', message: `unexpected argument ${JSON.stringify(extra[0])}` };
  const format = values.format ?? 'html';
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    return {
      kind: 'usage-error',
      message: `--format ${JSON.stringify(format)} is not allowed; use ${REPORT_FORMATS.join(', ')}`,
    };
  const since = values.since ?? String(SINCE_DAYS.default);
  const sinceDays = /^\d+$/.test(since) ? Number(since) : Number.NaN;
  if (!(sinceDays >= SINCE_DAYS.min && sinceDays <= SINCE_DAYS.max))
    return {
      kind: 'usage-error',
      message: `--since ${JSON.stringify(since)} is not allowed; use a whole number of days from ${SINCE_DAYS.min} to ${SINCE_DAYS.max}`,
    };
  const badValue =
    blankValueProblem([
      ['--profile', values.profile],
      ['--region', values.region],
      ['--output', values.output],
    ]) ?? regionProblem(values.region);
  if (badValue !== undefined) return { kind: 'usage-error', message: badValue };
  const members = membersFrom(values);
  if (typeof members === 'string') return { kind: 'usage-error', message: members };
  return {
    kind: 'report',
    options: {
      format: format as ReportFormat,
      output: values.output,
      sinceDays,
      profile: values.profile,
      region: values.region,
      members,
    },
  };
}
