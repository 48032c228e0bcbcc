/** `keywarden scan`: the account sweep from a laptop or a pipeline, with the Lambda's engine and rules. */

import { accountFromCaller } from '../adapters/account.ts';
import { createClients, VERSION } from '../adapters/clients.ts';
import { createIamPort } from '../adapters/iam.ts';
import { createFindingsPort } from '../adapters/securityhub.ts';
import type { AccountContext } from '../core/types.ts';
import { monotonicClock, sleep } from '../shared/clock.ts';
import { DEFAULTS, USER_AGENT_MARKER } from '../shared/constants.ts';
import { runSweep, type SweepProgress } from '../sweep/engine.ts';
import { createAccountIamPort } from '../sweep/iam-account.ts';
import { EXIT, HELP, parseCommandLine, type ScanOptions } from './args.ts';
import { describeError } from './errors.ts';
import { checkProfile } from './profiles.ts';
import { buildScanReport, exitCodeFor, renderJson, renderTable } from './report.ts';
import { RESTORE_HELP } from './restore.ts';
import { restore } from './restore-run.ts';

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const LONG_PHASE = 200;

/** Progress on stderr: rewritten in place on a terminal, else a line per phase (and quarter of a long one). */
function progressReporter(stderr: Output): (progress: SweepProgress) => void {
  let lastPhase = '';
  let lastQuarter = -1;
  return (progress) => {
    const text = ((): string => {
      switch (progress.phase) {
        case 'report':
          return 'Generating the IAM credential report…';
        case 'findings':
          return 'Reading open KeyWarden findings from Security Hub…';
        case 'listing':
          return progress.done === 0
            ? `Listing the access keys of ${progress.total} users…`
            : `Listing access keys: ${progress.done}/${progress.total} users`;
        case 'checking':
          return progress.done === 0
            ? `Confirming ${progress.total} candidate(s) live…`
            : `Confirming candidates live: ${progress.done}/${progress.total}`;
        case 'importing':
          return progress.done === 0
            ? `Importing ${progress.total} finding(s)…`
            : `Importing findings: ${progress.done}/${progress.total}`;
      }
    })();
    if (stderr.isTTY) {
      stderr.write(`\r\x1b[2K${text}`);
      return;
    }
    // Counts only for long phases, at each quarter, so a log stays short.
    const total = 'total' in progress ? progress.total : 0;
    const quarter = 'done' in progress && total >= LONG_PHASE ? Math.floor((4 * progress.done) / total) : 0;
    if (progress.phase !== lastPhase || quarter !== lastQuarter) stderr.write(`${text}\n`);
    lastPhase = progress.phase;
    lastQuarter = quarter;
  };
}

async function scan(options: ScanOptions, io: CliIo): Promise<number> {
  let account: AccountContext | undefined;
  const describe = (error: unknown): string =>
    describeError(error, {
      accountId: account?.accountId,
      region: account?.region ?? options.region,
      profile: options.profile ?? (io.env.AWS_PROFILE || undefined),
    });
  const progress = progressReporter(io.stderr);
  const missingProfile = await checkProfile(options.profile, io.env);
  if (missingProfile !== undefined) {
    io.stderr.write(`keywarden: ${missingProfile}\n`);
    return EXIT.error;
  }
  try {
    account = await accountFromCaller(options.region, options.profile);
    const clients = createClients({
      region: account.region,
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      // The detector skips the echo of a KeyWarden deactivation because KeyWarden already wrote its finding.
      // Without --import-findings the CLI writes none, so it signs differently and the detector resolves the
      // finding when the echo arrives.
      ...(options.importFindings ? {} : { userAgent: `${USER_AGENT_MARKER}-cli/${VERSION}` }),
    });
    const clock = monotonicClock();
    const result = await runSweep(
      {
        iam: createIamPort(clients.iam),
        accountIam: createAccountIamPort(clients.iam, { sleep }),
        findings: createFindingsPort(clients.securityHub, {
          accountId: account.accountId,
          partition: account.partition,
        }),
        clock,
        sleep,
        onProgress: progress,
        onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
      },
      {
        settings: {
          remediationMode: options.remediationMode,
          keepKey: options.keepKey,
          exemptTag: options.exemptTag,
          rotationGraceHours: options.rotationGraceHours,
          consistencyRetries: DEFAULTS.consistencyRetries,
          importFindings: options.importFindings,
        },
        source: options.source,
        origin: 'cli',
      },
      account,
    );
    if (io.stderr.isTTY) io.stderr.write('\r\x1b[2K');
    const report = buildScanReport(result, {
      account,
      scannedAt: clock(),
      version: VERSION,
      settings: {
        remediation: options.remediationMode,
        keepKey: options.keepKey,
        exemptTag: options.exemptTag,
        rotationGraceHours: options.rotationGraceHours,
        importFindings: options.importFindings,
      },
      describeError: describe,
    });
    io.stdout.write(options.format === 'json' ? renderJson(report) : renderTable(report));
    for (const message of new Set(report.errors.map((error) => error.message))) {
      io.stderr.write(`keywarden: ${message}\n`);
    }
    return exitCodeFor(report);
  } catch (error) {
    if (io.stderr.isTTY) io.stderr.write('\r\x1b[2K');
    io.stderr.write(`keywarden: ${describe(error)}\n`);
    return EXIT.error;
  }
}

/** Runs the command line and returns the exit code (see `--help`). */
export async function main(argv: readonly string[], io?: CliIo): Promise<number> {
  const { stdout, stderr, env } = io ?? { stdout: process.stdout, stderr: process.stderr, env: process.env };
  const command = parseCommandLine(argv, env, stdout.isTTY === true);
  switch (command.kind) {
    case 'help':
      stdout.write(HELP);
      return EXIT.compliant;
    case 'version':
      stdout.write(`keywarden ${VERSION}\n`);
      return EXIT.compliant;
    case 'usage-error':
      stderr.write(`keywarden: ${command.message}\nRun keywarden --help for the options.\n`);
      return EXIT.usage;
    case 'scan':
      return scan(command.options, { stdout, stderr, env });
    case 'restore-help':
      stdout.write(RESTORE_HELP);
      return EXIT.compliant;
    case 'restore':
      return restore(command.options, { stdout, stderr, env });
  }
}
