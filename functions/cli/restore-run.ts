/** Runs `keywarden restore`: reads, plans, and with `--yes` writes, confirms with IAM, and updates the finding. */

import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { callerIdentity } from '../adapters/account.ts';
import { type AwsClients, CLIENT_SETTINGS, createClients, VERSION } from '../adapters/clients.ts';
import { createIamPort, type IamPort } from '../adapters/iam.ts';
import { createRestoreIamPort } from '../adapters/iam-restore.ts';
import { createKeyHistoryPort } from '../adapters/key-history.ts';
import { createAccountClients } from '../adapters/member-accounts.ts';
import { createFindingsPort, type FindingsPort } from '../adapters/securityhub.ts';
import { type Finding, findingIdFor, productArnFor } from '../core/finding.ts';
import { type DeactivationProof, proveDeactivation } from '../core/key-deactivation.ts';
import { type AccountTarget, memberRoleArn } from '../core/organization.ts';
import type { AccountContext, Trigger, UserSnapshot } from '../core/types.ts';
import { checkUser } from '../engine/check-user.ts';
import { monotonicClock, sleep as realSleep } from '../shared/clock.ts';
import {
  DEFAULT_MEMBER_ROLE_NAME,
  DEFAULTS,
  iamEventRegionFor,
  USER_AGENT_MARKER,
} from '../shared/constants.ts';
import { EXIT } from './args.ts';
import { describeError } from './errors.ts';
import type { CliIo } from './io.ts';
import { checkProfile } from './profiles.ts';
import {
  describePlan,
  planRestore,
  RestoreNotConfirmedError,
  type RestoreOptions,
  type RestorePlan,
  RestoreRefusedError,
  restoreConfirmed,
} from './restore.ts';

/** Reads after the writes until IAM shows them (it is eventually consistent): 250 ms, 500 ms, 1 s, 2 s. */
const CONFIRM_BACKOFF_MS = [250, 500, 1_000, 2_000];

/** How far back LookupEvents reaches: management events of the last 90 days. */
const TRAIL_DAYS = 90;

type Caller = Awaited<ReturnType<typeof callerIdentity>>;

/** The session one restore works in: who calls, in which account, through which clients. */
interface RestoreSession {
  readonly caller: Caller;
  readonly account: AccountContext;
  readonly clients: AwsClients;
  readonly iam: IamPort;
  readonly findings: FindingsPort;
  readonly userAgent: string;
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly out: (line?: string) => void;
  readonly describe: (error: unknown) => string;
}

/** What the restore has written so far, for the message when a later step fails. */
interface Written {
  tagged?: { readonly userName: string; readonly tag: string; readonly value: string };
}

export async function restore(
  options: RestoreOptions,
  io: CliIo,
  sleep: (ms: number) => Promise<void> = realSleep,
): Promise<number> {
  let account: AccountContext | undefined;
  const describe = (error: unknown): string =>
    describeError(error, {
      accountId: account?.accountId,
      region: account?.region ?? options.region,
      profile: options.profile ?? (io.env.AWS_PROFILE || undefined),
    });
  const missingProfile = await checkProfile(options.profile, io.env);
  if (missingProfile !== undefined) {
    io.stderr.write(`keywarden: ${missingProfile}\n`);
    return EXIT.error;
  }
  const written: Written = {};
  try {
    const caller = await callerIdentity(options.region, options.profile);
    const target: AccountTarget = options.member
      ? { account: { ...caller.account, accountId: options.member.accountId }, via: 'member-role' }
      : { account: caller.account, via: 'own' };
    account = target.account;
    const session = await openSession(options, caller, target, { io, sleep, describe });
    const [snapshot, finding] = await Promise.all([
      session.iam.readUser(options.userName),
      session.findings.getFinding(productArnFor(account), findingIdFor(account.accountId, options.userName)),
    ]);
    const plan = planRestore({
      options,
      snapshot,
      finding,
      accountId: account.accountId,
      now: session.clock(),
    });
    const proof = await proveOrRefuse(session, options, plan);
    printHeader(session, options, plan, proof);
    if (!options.yes) return printDryRun(session, plan);
    const confirmed = await writeAndConfirm(session, plan, written);
    await recordFinding(session, plan, confirmed, finding);
    return EXIT.compliant;
  } catch (error) {
    if (error instanceof RestoreRefusedError) {
      io.stderr.write(`keywarden: ${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`keywarden: ${describe(error)}\n`);
    const { tagged } = written;
    if (tagged !== undefined)
      io.stderr.write(
        `keywarden: ${tagged.userName} is tagged ${tagged.tag}=${tagged.value} already; run the command again, or remove the tag: aws iam untag-user --user-name ${tagged.userName} --tag-keys ${tagged.tag}\n`,
      );
    return EXIT.error;
  }
}

/** The target account's clients: the caller's own, or a session of the member role there. */
async function openSession(
  options: RestoreOptions,
  caller: Caller,
  target: AccountTarget,
  shell: { io: CliIo; sleep: (ms: number) => Promise<void>; describe: (error: unknown) => string },
): Promise<RestoreSession> {
  const userAgent = `${USER_AGENT_MARKER}-cli/${VERSION}`;
  const own = createClients({
    region: caller.account.region,
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    userAgent,
  });
  const { account } = target;
  const clients = await createAccountClients({
    own,
    memberRoleName: options.member?.roleName,
    sessionName: 'keywarden-restore',
    sts: async () => {
      const { STSClient } = await import('@aws-sdk/client-sts');
      return new STSClient({
        ...CLIENT_SETTINGS,
        region: caller.account.region,
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
        customUserAgent: userAgent,
      });
    },
    clientOptions: { userAgent },
  }).clientsFor(target);
  return {
    caller,
    account,
    clients,
    iam: createIamPort(clients.iam),
    findings: createFindingsPort(clients.securityHub, {
      accountId: account.accountId,
      partition: account.partition,
    }),
    userAgent,
    clock: monotonicClock(),
    sleep: shell.sleep,
    out: (line = '') => {
      shell.io.stdout.write(`${line}\n`);
    },
    describe: shell.describe,
  };
}

/**
 * Proof that KeyWarden switched the key off, from IAM (the plan's read) and CloudTrail; without it, and without
 * --force, the restore is refused.
 */
async function proveOrRefuse(
  session: RestoreSession,
  options: RestoreOptions,
  plan: RestorePlan,
): Promise<DeactivationProof> {
  const proof = await readProof(session, options, plan);
  if (proof.kind === 'unproven' && !options.force) {
    const shown = proof.deactivation;
    const last =
      shown !== undefined && !proof.reason.includes(shown.by)
        ? `; CloudTrail shows it last switched off by ${shown.by} at ${shown.at}`
        : '';
    throw new RestoreRefusedError(
      `cannot prove that KeyWarden switched off ${plan.key.accessKeyId} of IAM user ${plan.userName}: ${proof.reason}${last}. Nothing changed. ${
        plan.source === 'flag'
          ? `To re-activate it anyway: --key ${plan.key.accessKeyId} --force`
          : `A finding's record alone is no proof; if you know why the key is off, name it: --key ${plan.key.accessKeyId} --force`
      }`,
    );
  }
  return proof;
}

async function readProof(
  session: RestoreSession,
  options: RestoreOptions,
  plan: RestorePlan,
): Promise<DeactivationProof> {
  const { account, clients } = session;
  // IAM's calls are logged where its events arrive: us-east-1 in `aws`.
  const trailRegion = iamEventRegionFor(account.partition) ?? account.region;
  const keywardenRoles =
    options.keywardenRoles.length > 0 || options.member === undefined
      ? options.keywardenRoles
      : [memberRoleArn(account.partition, account.accountId, DEFAULT_MEMBER_ROLE_NAME)];
  const history = createKeyHistoryPort(
    new CloudTrailClient({
      ...CLIENT_SETTINGS,
      region: trailRegion,
      credentials: clients.iam.config.credentials,
      customUserAgent: session.userAgent,
    }),
    { sleep: session.sleep },
  );
  try {
    const found = await history.statusChanges(
      plan.key.accessKeyId,
      new Date(session.clock().getTime() - TRAIL_DAYS * 86_400_000),
    );
    return proveDeactivation({
      key: plan.key,
      changes: found.changes,
      search: { region: trailRegion, complete: found.complete, eventsRead: found.eventsRead },
      keywardenRoles,
    });
  } catch (error) {
    // Without --force the proof is required, so a CloudTrail that cannot be read stops the restore.
    if (!options.force) throw error;
    return {
      kind: 'unproven',
      reason: `CloudTrail could not be read (${session.describe(error)})`,
      deactivation: undefined,
    };
  }
}

function printHeader(
  session: RestoreSession,
  options: RestoreOptions,
  plan: RestorePlan,
  proof: DeactivationProof,
): void {
  const { account, out } = session;
  out(
    `KeyWarden ${VERSION} restore · account ${account.accountId} (${account.partition}, ${account.region})${options.member ? ` through role ${options.member.roleName}` : ''}`,
  );
  out(`Caller: ${session.caller.arn}`);
  out(`IAM user ${plan.userName} (${plan.userArn})`);
  out(
    proof.kind === 'proven'
      ? `Proven: KeyWarden switched ${plan.key.accessKeyId} off (${proof.deactivation.by} at ${proof.deactivation.at}, in CloudTrail) and IAM lists it Inactive`
      : `Not proven that KeyWarden switched ${plan.key.accessKeyId} off: ${proof.reason}${
          proof.deactivation !== undefined && !proof.reason.includes(proof.deactivation.by)
            ? `; CloudTrail shows it last switched off by ${proof.deactivation.by} at ${proof.deactivation.at}`
            : ''
        }. Going ahead: --force`,
  );
  out();
}

/** Without --yes: what the restore would do, and nothing done. */
function printDryRun(session: RestoreSession, plan: RestorePlan): number {
  session.out('Would:');
  for (const step of describePlan(plan, session.caller.arn)) session.out(`  - ${step}`);
  session.out();
  session.out('Nothing changed. Run again with --yes to do it.');
  return EXIT.compliant;
}

/** Tags the user exempt, re-activates the key, and reads IAM until it shows both. */
async function writeAndConfirm(
  session: RestoreSession,
  plan: RestorePlan,
  written: Written,
): Promise<UserSnapshot> {
  const { out } = session;
  // The tag first: the re-activation's own CloudTrail event then meets an exempt user, which the detector
  // reports as WARNING and leaves alone.
  const writer = createRestoreIamPort(session.clients.iam);
  await writer.tagUser(plan.userName, plan.exemptTag, plan.exemptUntil);
  written.tagged = { userName: plan.userName, tag: plan.exemptTag, value: plan.exemptUntil };
  out(`Tagged ${plan.userName} ${plan.exemptTag}=${plan.exemptUntil}`);
  if (plan.key.status !== 'Active') {
    await writer.activate(plan.userName, plan.key.accessKeyId);
    out(`Re-activated ${plan.key.accessKeyId}`);
  } else {
    out(`${plan.key.accessKeyId} was already active`);
  }
  let confirmed: UserSnapshot | undefined;
  let problem: string | undefined;
  for (let attempt = 0; ; attempt++) {
    confirmed = await session.iam.readUser(plan.userName);
    problem = restoreConfirmed(plan, confirmed);
    const wait = CONFIRM_BACKOFF_MS[attempt];
    if (problem === undefined || wait === undefined) break;
    await session.sleep(wait);
  }
  if (problem !== undefined || confirmed === undefined)
    throw new RestoreNotConfirmedError(
      `IAM does not confirm the restore of ${plan.key.accessKeyId}: ${problem}. Check with: aws iam list-access-keys --user-name ${plan.userName} && aws iam list-user-tags --user-name ${plan.userName}`,
    );
  out(`Confirmed by IAM: ${plan.key.accessKeyId} Active, ${plan.exemptTag}=${plan.exemptUntil}`);
  return confirmed;
}

/**
 * The finding is the engine's, from the state just confirmed; remediation stays off, whatever the detector's.
 * The restore is a tag change and a re-activation by the caller: the finding names who restored which key.
 */
async function recordFinding(
  session: RestoreSession,
  plan: RestorePlan,
  confirmed: UserSnapshot,
  finding: Finding | undefined,
): Promise<void> {
  const { iam, findings, clock, sleep, out } = session;
  const result = await checkUser(
    { iam, findings, clock, sleep },
    {
      remediationMode: 'off',
      keepKey: DEFAULTS.keepKey,
      exemptTag: plan.exemptTag,
      rotationGraceHours: DEFAULTS.rotationGraceHours,
      consistencyRetries: DEFAULTS.consistencyRetries,
      importFindings: true,
    },
    session.account,
    {
      userName: plan.userName,
      trigger: restoreTrigger(session.caller, plan),
      snapshot: confirmed,
      previousFinding: finding,
    },
  );
  out(
    `Finding ${result.findingId}: ${result.finding?.Compliance?.Status ?? 'not written'}${result.finding?.Title ? ` · ${result.finding.Title}` : ''}`,
  );
  out();
  out(
    `Done. ${plan.userName} is exempt until ${plan.exemptUntil}; afterwards KeyWarden enforces CIS 1.13 again. To end it sooner: aws iam untag-user --user-name ${plan.userName} --tag-keys ${plan.exemptTag}`,
  );
}

/** The restore as the TagUser event it is: the caller tagged the user exempt and re-activated the key. */
function restoreTrigger(caller: Caller, plan: RestorePlan): Trigger {
  const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    kind: 'event',
    eventName: 'TagUser',
    eventId: `keywarden-restore-${at}`,
    eventTime: at,
    actorArn: caller.arn,
    actorType: /:assumed-role\//.test(caller.arn)
      ? 'AssumedRole'
      : /:root$/.test(caller.arn)
        ? 'Root'
        : 'IAMUser',
    actorIssuerArn: '',
    actorUserName: '',
    actorAccountId: caller.account.accountId,
    actorMfa: undefined,
    sourceIp: '',
    userAgent: `${USER_AGENT_MARKER}-cli/${VERSION} restore`,
    accessKeyId: plan.key.accessKeyId,
    tagKeys: [plan.exemptTag],
    tagValues: { [plan.exemptTag]: plan.exemptUntil },
  };
}
