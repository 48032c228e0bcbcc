/** `keywarden coverage`: its options, parsed and validated. Pure: the environment is not read here. */

import { BUS_ARN, TABLE_NAME } from '../shared/config.ts';
import { FORWARDING_RULE_NAME } from '../shared/constants.ts';
import { MEMBER_OPTIONS, type MemberScan, membersFrom } from './members.ts';
import { blankValueProblem, type OptionTable, parseOptions, regionProblem } from './options.ts';

export interface CoverageOptions {
  readonly format: 'table' | 'json';
  /** The central bus the forwarding rules must target; undefined: the target is not judged. */
  readonly busArn: string | undefined;
  /** The canary ledger in the caller's account; undefined: the canary is not read. */
  readonly canaryTable: string | undefined;
  readonly profile: string | undefined;
  readonly region: string | undefined;
  /** Undefined: the caller's account only. */
  readonly members: MemberScan | undefined;
}

export type CoverageCommand =
  | { readonly kind: 'coverage'; readonly options: CoverageOptions }
  | { readonly kind: 'coverage-help' }
  | { readonly kind: 'usage-error'; readonly message: string };

export const COVERAGE_HELP = `Usage: keywarden coverage [options]
       keywarden coverage --accounts ID[,ID...] --role-name NAME [options]
       keywarden coverage --organization [--ous OU[,OU...]] --role-name NAME [options]

Says whether KeyWarden is blind to any account: one row per account with the
member role (assumable, or the caller's own account), the forwarding rule
${FORWARDING_RULE_NAME} (exists, ENABLED, the detector's event pattern,
targets the central bus), the CloudTrail trail, and the last canary sent and
received. Reads only; changes nothing, imports no finding, sends no canary.
Run it with the central account's credentials (the canary table is there).

Options:
  --bus ARN                  the central bus the forwarding rules must target
                             (the central stack's bus); without it the target is
                             not judged
  --canary-table NAME        the canary table in the caller's account (the stack's
                             canary table); without it the canary is not read
  --format table|json        output (default: table on a terminal, json otherwise)
  --accounts ID[,ID...]      check these 12-digit account ids (repeatable)
  --organization             check every ACTIVE account of the organization
                             (organizations:ListAccounts)
  --ous OU[,OU...]           with --organization: only the ACTIVE accounts under these
                             OUs or the root (r-...), nested OUs included, as the member
                             StackSet targets them (repeatable)
  --role-name NAME           the member role to read each account through
  --profile NAME             AWS profile (default: the standard credential chain)
  --region REGION            region of STS and the canary table (default: the profile's or AWS_REGION)
  -h, --help                 show this help

Permissions: sts:GetCallerIdentity, cloudtrail:DescribeTrails,
cloudtrail:GetTrailStatus, cloudtrail:GetEventSelectors; with --canary-table
dynamodb:GetItem on it; with --accounts or --organization sts:AssumeRole on the
member roles (which grant events:DescribeRule and events:ListTargetsByRule on the
forwarding rule), and organizations:ListAccounts (with --ous
organizations:ListAccountsForParent, ListOrganizationalUnitsForParent).

Exit codes:
  0   every account is covered (no check FAILED)
  1   an account is not covered or could not be checked (every account is still reported)
  64  usage error
`;

/** The options `keywarden coverage` reads; docs/configuration.md lists each (a test compares the two). */
export const COVERAGE_OPTIONS = {
  bus: { type: 'string' },
  'canary-table': { type: 'string' },
  format: { type: 'string' },
  ...MEMBER_OPTIONS,
  profile: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionTable;

/** `keywarden coverage`'s exit codes: all covered, an account not covered (or not checked), usage error. */
export const COVERAGE_EXIT_CODES = [0, 1, 64] as const;

const usage = (message: string): CoverageCommand => ({ kind: 'usage-error', message });

/** Parses `coverage ...` (argv without node and the script). */
export function parseCoverageCommandLine(argv: readonly string[], stdoutIsTty: boolean): CoverageCommand {
  const parsed = parseOptions(argv, COVERAGE_OPTIONS, 'keywarden coverage');
  if (typeof parsed === 'string') return usage(parsed);
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'coverage-help' };
  const [, ...extra] = positionals;
  if (extra.length > 0) return usage(`unexpected argument ${JSON.stringify(extra[0])}`);
  const format = values.format ?? (stdoutIsTty ? 'table' : 'json');
  if (format !== 'table' && format !== 'json')
    return usage(`--format ${JSON.stringify(format)} is not allowed; use table or json`);
  const badValue =
    blankValueProblem([
      ['--profile', values.profile],
      ['--region', values.region],
      ['--bus', values.bus],
      ['--canary-table', values['canary-table']],
    ]) ?? regionProblem(values.region);
  if (badValue !== undefined) return usage(badValue);
  if (values.bus !== undefined && !BUS_ARN.test(values.bus))
    return usage(
      `--bus ${JSON.stringify(values.bus)} is not an event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>)`,
    );
  const table = values['canary-table'];
  if (table !== undefined && !TABLE_NAME.test(table))
    return usage(
      `--canary-table ${JSON.stringify(table)} is not a DynamoDB table name (3-255 letters, digits and _.-)`,
    );
  const members = membersFrom(values);
  if (typeof members === 'string') return usage(members);
  return {
    kind: 'coverage',
    options: {
      format,
      busArn: values.bus,
      canaryTable: table,
      profile: values.profile,
      region: values.region,
      members,
    },
  };
}
