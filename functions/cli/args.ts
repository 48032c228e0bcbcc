/** The `keywarden` command line, parsed and validated into typed options. Pure: the environment is passed in. */

import { type Config, loadConfig } from '../shared/config.ts';
import { DEFAULTS, ENV, type RemediationMode, type SweepSource } from '../shared/constants.ts';
import { ConfigError } from '../shared/errors.ts';
import {
  COVERAGE_EXIT_CODES,
  COVERAGE_HELP,
  COVERAGE_OPTIONS,
  type CoverageCommand,
  parseCoverageCommandLine,
} from './coverage.ts';
import {
  parseReportCommandLine,
  REPORT_EXIT_CODES,
  REPORT_HELP,
  REPORT_OPTIONS,
  type ReportCommand,
} from './evidence.ts';
import { MEMBER_OPTIONS, type MemberScan, membersFrom } from './members.ts';
import { type OptionTable, type ParsedOptions, parseOptions, regionProblem } from './options.ts';
import {
  parseRestoreCommandLine,
  RESTORE_EXIT_CODES,
  RESTORE_HELP,
  RESTORE_OPTIONS,
  type RestoreCommand,
} from './restore.ts';

export type OutputFormat = 'table' | 'json';

export type { MemberScan } from './members.ts';
export { parseMembers } from './members.ts';

export interface ScanOptions {
  readonly profile: string | undefined;
  readonly region: string | undefined;
  readonly format: OutputFormat;
  readonly source: SweepSource;
  readonly importFindings: boolean;
  /** `--remediate` alone is a dry run; with `--yes` it deactivates. */
  readonly remediationMode: RemediationMode;
  readonly keepKey: Config['keepKey'];
  readonly exemptTag: string;
  readonly rotationGraceHours: number;
  /** A key used within this many hours is not deactivated (0: no such protection). */
  readonly inUseHours: number;
  /** Undefined: the caller's account only (a single-account scan). */
  readonly members: MemberScan | undefined;
}

export type Command =
  | { readonly kind: 'help'; readonly command?: CommandName }
  | { readonly kind: 'version' }
  | { readonly kind: 'scan'; readonly options: ScanOptions }
  | RestoreCommand
  | ReportCommand
  | CoverageCommand
  | { readonly kind: 'usage-error'; readonly message: string };

/** Exit codes, documented in `--help` and docs/configuration.md. 64 is EX_USAGE from sysexits.h. */
export const EXIT = { compliant: 0, error: 1, violations: 2, usage: 64 } as const;

/**
 * Accounts scanned at the same time in organization mode. IAM and Security Hub throttle per account, so accounts
 * do not slow each other down; each runs its own 8 user checks, so 8 accounts keep 64 requests in flight.
 */
export const ACCOUNT_SCAN_CONCURRENCY = 8;

/** `keywarden scan --help`. */
export const SCAN_HELP = `Usage: keywarden scan [options]
       keywarden scan --accounts ID[,ID...] --role-name NAME [options]
       keywarden scan --organization --role-name NAME [options]
       keywarden scan --organization --ous OU[,OU...] --role-name NAME [options]

Scans an AWS account for IAM users with more than one active access key
(CIS AWS Foundations Benchmark v3.0.0 1.13). Candidates come from the IAM
credential report (or a full listing with --full); each is confirmed live.
With --accounts or --organization it scans several accounts, ${ACCOUNT_SCAN_CONCURRENCY} at a
time, each through the member role NAME (the caller's own account, when
listed, with the caller's credentials), and reports each account apart.

Options:
  --profile NAME             AWS profile (default: the standard credential chain)
  --region REGION            region for STS and Security Hub (default: the profile's or AWS_REGION)
  --format table|json        output (default: table on a terminal, json otherwise)
  --full                     list every user live (ListUsers + ListAccessKeys) instead of
                             using the credential report, which can be up to 4 hours old
  --import-findings          write findings to Security Hub CSPM and resolve or archive stale ones
  --remediate                show which keys would be deactivated (dry run)
  --remediate --yes          deactivate them (never the last active key of a user)
  --keep-key newest|oldest|last-used|auto
                             which active key to keep (default: KEEP_KEY or ${DEFAULTS.keepKey})
  --exempt-tag KEY           users tagged KEY=true are reported, never changed
                             (default: EXEMPT_TAG or ${DEFAULTS.exemptTag})
  --rotation-grace-hours N   do not deactivate while the newer key is younger than N hours
                             (default: ROTATION_GRACE_HOURS or ${DEFAULTS.rotationGraceHours})
  --in-use-hours N           do not deactivate a key used within the last N hours; 0: no such
                             protection (default: IN_USE_HOURS or ${DEFAULTS.inUseHours})
  -h, --help                 show this help
  -V, --version              show the version

Organization mode (--import-findings and --remediate act in each account):
  --accounts ID[,ID...]      scan these 12-digit account ids (repeatable)
  --organization             scan every ACTIVE account of the caller's organization
                             (organizations:ListAccounts: run it in the management
                             account or a delegated administrator)
  --ous OU[,OU...]           with --organization: only the ACTIVE accounts under these
                             OUs or the root (r-...), nested OUs included, as the member
                             StackSet targets them (organizations:ListAccountsForParent,
                             ListOrganizationalUnitsForParent; repeatable); without it,
                             every ACTIVE account, the caller's own included
  --role-name NAME           the member role to assume in each account (the one
                             KeyWarden is deployed with, e.g. KeyWardenMember)

Exit codes:
  0   no user has more than one active access key (exempt users allowed)
  2   violations found (listed in the output, including any deactivated in this run)
  1   error: the scan is incomplete (missing permission, credentials, Security Hub,
      an account that could not be scanned, ...); the other accounts are reported
  64  usage error
`;

/** The options `keywarden scan` reads; docs/configuration.md lists each (a test compares the two). */
export const SCAN_OPTIONS = {
  profile: { type: 'string' },
  region: { type: 'string' },
  format: { type: 'string' },
  full: { type: 'boolean' },
  'import-findings': { type: 'boolean' },
  remediate: { type: 'boolean' },
  yes: { type: 'boolean' },
  'keep-key': { type: 'string' },
  'exempt-tag': { type: 'string' },
  'rotation-grace-hours': { type: 'string' },
  'in-use-hours': { type: 'string' },
  ...MEMBER_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies OptionTable;

/**
 * Every command: its usage lines and summary (the general help), its own help, its options and exit codes. A new
 * command is a row here (and a case in `main`); docs/configuration.md is checked against this table.
 */
export const COMMANDS = {
  scan: {
    usage: [
      'keywarden scan [options]',
      'keywarden scan --accounts ID[,ID...] --role-name NAME [options]',
      'keywarden scan --organization --role-name NAME [options]',
      'keywarden scan --organization --ous OU[,OU...] --role-name NAME [options]',
    ],
    summary: 'find IAM users with more than one active access key, in one account or several',
    help: SCAN_HELP,
    options: SCAN_OPTIONS,
    exitCodes: [EXIT.compliant, EXIT.violations, EXIT.error, EXIT.usage],
  },
  restore: {
    usage: ['keywarden restore USER [--key ID] [--exempt-days N] [--yes]'],
    summary: 'undo a deactivation: re-activate the key and exempt the user for a few days',
    help: RESTORE_HELP,
    options: RESTORE_OPTIONS,
    exitCodes: RESTORE_EXIT_CODES,
  },
  report: {
    usage: ['keywarden report [--format html|csv|json|ocsf] [--output FILE] [--since DAYS]'],
    summary:
      'evidence for auditors: compliance now, exemptions, resolved violations, threats, blind accounts',
    help: REPORT_HELP,
    options: REPORT_OPTIONS,
    exitCodes: REPORT_EXIT_CODES,
  },
  coverage: {
    usage: [
      'keywarden coverage [--bus ARN] [--canary-table NAME]',
      'keywarden coverage --accounts ID[,ID...] | --organization [--ous OU[,OU...]] --role-name NAME [options]',
    ],
    summary: 'is any account blind? role, forwarding rule, trail and canary of each account',
    help: COVERAGE_HELP,
    options: COVERAGE_OPTIONS,
    exitCodes: COVERAGE_EXIT_CODES,
  },
} as const satisfies Readonly<
  Record<
    string,
    {
      usage: readonly string[];
      summary: string;
      help: string;
      options: OptionTable;
      exitCodes: readonly number[];
    }
  >
>;
export type CommandName = keyof typeof COMMANDS;

/** `keywarden --help`: every command's usage, and where each command's own help is. */
export const HELP = `${Object.values(COMMANDS)
  .flatMap((command) => command.usage)
  .map((line, index) => `${index === 0 ? 'Usage: ' : '       '}${line}`)
  .join('\n')}

Keeps IAM users to one active access key (CIS AWS Foundations Benchmark v3.0.0 1.13).

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`)
  .join('\n')}

Run keywarden COMMAND --help for a command's options and exit codes.
  -h, --help     show this help
  -V, --version  show the version
`;

type Env = Readonly<Record<string, string | undefined>>;

const FLAG_FOR_ENV: Readonly<Record<string, string>> = {
  [ENV.keepKey]: '--keep-key',
  [ENV.exemptTag]: '--exempt-tag',
  [ENV.rotationGraceHours]: '--rotation-grace-hours',
  [ENV.inUseHours]: '--in-use-hours',
};

/**
 * Parses `argv` (without node and the script). Flags override KEEP_KEY, EXEMPT_TAG, ROTATION_GRACE_HOURS and
 * IN_USE_HOURS.
 */
export function parseCommandLine(argv: readonly string[], env: Env, stdoutIsTty: boolean): Command {
  if (argv[0] === 'restore') return parseRestoreCommandLine(argv, env);
  if (argv[0] === 'report') return parseReportCommandLine(argv);
  if (argv[0] === 'coverage') return parseCoverageCommandLine(argv, stdoutIsTty);
  const parsed = parseOptions(argv, SCAN_OPTIONS, 'keywarden scan');
  if (typeof parsed === 'string') return { kind: 'usage-error', message: scanUsageMessage(parsed) };
  const { values, positionals } = parsed;
  if (values.help) return positionals[0] === 'scan' ? { kind: 'help', command: 'scan' } : { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const [command, ...extra] = positionals;
  if (command === undefined)
    return {
      kind: 'usage-error',
      message: 'missing command: use `keywarden scan` or `keywarden restore USER`',
    };
  if (command !== 'scan')
    return { kind: 'usage-error', message: `unknown command ${JSON.stringify(command)}` };
  if (extra.length > 0)
    return { kind: 'usage-error', message: `unexpected argument ${JSON.stringify(extra[0])}` };
  if (values.yes && !values.remediate)
    return { kind: 'usage-error', message: '--yes only confirms --remediate' };
  const format = values.format ?? (stdoutIsTty ? 'table' : 'json');
  if (format !== 'table' && format !== 'json') {
    return {
      kind: 'usage-error',
      message: `--format ${JSON.stringify(format)} is not allowed; use table or json`,
    };
  }
  const where = whereProblem(values);
  if (where !== undefined) return { kind: 'usage-error', message: where };

  const members = membersFrom(values);
  if (typeof members === 'string') return { kind: 'usage-error', message: members };

  const config = configFromFlags(values, env);
  if ('kind' in config) return config;
  return {
    kind: 'scan',
    options: {
      profile: values.profile,
      region: values.region,
      format,
      source: config.sweepSource,
      importFindings: values['import-findings'] ?? false,
      remediationMode: values.remediate ? (values.yes ? 'deactivate' : 'dry-run') : 'off',
      keepKey: config.keepKey,
      exemptTag: config.exemptTag,
      rotationGraceHours: config.rotationGraceHours,
      inUseHours: config.inUseHours,
      members,
    },
  };
}

type ScanFlags = Exclude<ParsedOptions<typeof SCAN_OPTIONS>, string>['values'];

/** The parser's message, with the way out when a restore flag was given to scan. */
function scanUsageMessage(message: string): string {
  // `restore` takes one account (--account); `scan` takes a list.
  return message.startsWith("unknown option '--account'")
    ? "unknown option '--account': scan takes --accounts ID[,ID...] (restore takes --account ID)"
    : message;
}

/** What is wrong with --profile and --region, if anything. */
function whereProblem(values: ScanFlags): string | undefined {
  for (const [name, value] of [
    ['--profile', values.profile],
    ['--region', values.region],
  ] as const) {
    if (value !== undefined && value.trim() === '') return `${name} needs a value`;
  }
  return regionProblem(values.region);
}

/** The settings the flags override in the environment, validated as the Lambda validates them. */
function configFromFlags(values: ScanFlags, env: Env): Config | Extract<Command, { kind: 'usage-error' }> {
  const overrides: Record<string, string | undefined> = {
    [ENV.keepKey]: values['keep-key'] ?? env[ENV.keepKey],
    [ENV.exemptTag]: values['exempt-tag'] ?? env[ENV.exemptTag],
    [ENV.rotationGraceHours]: values['rotation-grace-hours'] ?? env[ENV.rotationGraceHours],
    [ENV.inUseHours]: values['in-use-hours'] ?? env[ENV.inUseHours],
    [ENV.sweepSource]: values.full ? 'full' : env[ENV.sweepSource],
  };
  let config: Config;
  try {
    config = loadConfig(overrides);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const flagged = Object.entries(FLAG_FOR_ENV).find(
      ([name, flag]) =>
        error.message.startsWith(`${name}=`) && values[flag.slice(2) as keyof typeof values] !== undefined,
    );
    const message = flagged ? error.message.replace(`${flagged[0]}=`, `${flagged[1]} `) : error.message;
    return { kind: 'usage-error', message };
  }
  return config;
}
