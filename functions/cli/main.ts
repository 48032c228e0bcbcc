/** `keywarden scan`: the account sweep from a laptop or a pipeline, with the Lambda's engine and rules. */

import { accountFromCaller } from '../adapters/account.ts';
import { createClients, VERSION } from '../adapters/clients.ts';
import type { AccountContext } from '../core/types.ts';
import { monotonicClock } from '../shared/clock.ts';
import { USER_AGENT_MARKER } from '../shared/constants.ts';
import { EXIT, HELP, parseCommandLine, SCAN_HELP, type ScanOptions } from './args.ts';
import { COVERAGE_HELP } from './coverage.ts';
import { coverage } from './coverage-run.ts';
import { describeError } from './errors.ts';
import { REPORT_HELP } from './evidence.ts';
import { report } from './evidence-run.ts';
import type { CliIo } from './io.ts';
import { checkProfile } from './profiles.ts';
import { progressReporter } from './progress.ts';
import { buildScanReport, exitCodeFor, renderJson, renderTable } from './report.ts';
import { RESTORE_HELP } from './restore.ts';
import { restore } from './restore-run.ts';
import { scanAccounts } from './scan-accounts.ts';
import { reportSettings, sweepAccount } from './sweep-account.ts';

export type { CliIo, Output } from './io.ts';

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
      // A marker for people reading CloudTrail, nothing more: a deployed detector knows its own calls by the
      // role that made them (OWN_ROLE_ARNS), so it evaluates the CLI's deactivations like anyone's.
      ...(options.importFindings ? {} : { userAgent: `${USER_AGENT_MARKER}-cli/${VERSION}` }),
    });
    const clock = monotonicClock();
    const result = await sweepAccount(clients, account, options, {
      clock,
      onProgress: progress,
      onWarning: (message) => io.stderr.write(`warning: ${message}\n`),
    });
    if (io.stderr.isTTY) io.stderr.write('\r\x1b[2K');
    const report = buildScanReport(result, {
      account,
      scannedAt: clock(),
      version: VERSION,
      settings: reportSettings(options),
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
      stdout.write(command.command === 'scan' ? SCAN_HELP : HELP);
      return EXIT.compliant;
    case 'version':
      stdout.write(`keywarden ${VERSION}\n`);
      return EXIT.compliant;
    case 'usage-error':
      stderr.write(`keywarden: ${command.message}\nRun keywarden --help for the options.\n`);
      return EXIT.usage;
    case 'scan':
      return command.options.members === undefined
        ? scan(command.options, { stdout, stderr, env })
        : scanAccounts(command.options, command.options.members, { stdout, stderr, env });
    case 'restore-help':
      stdout.write(RESTORE_HELP);
      return EXIT.compliant;
    case 'restore':
      return restore(command.options, { stdout, stderr, env });
    case 'report-help':
      stdout.write(REPORT_HELP);
      return EXIT.compliant;
    case 'report':
      return report(command.options, { stdout, stderr, env });
    case 'coverage-help':
      stdout.write(COVERAGE_HELP);
      return EXIT.compliant;
    case 'coverage':
      return coverage(command.options, { stdout, stderr, env });
  }
}
