/**
 * Runs scenarios under roles moto enforces, learns which granted action each run needed, and proves each one
 * needed by running the scenario again without it.
 */

import { expect } from 'vitest';
import { type Decision, type EnforcedAws, roleOfPrincipal } from './enforced-aws.ts';
import { grantedActions, type TemplateRole, withoutAction } from './template-roles.ts';

/** A role under test: where it lives and what the template grants it. */
export interface RoleUnderTest {
  /** How the docs and the results name it, e.g. `Detector (deactivate)`. */
  readonly label: string;
  readonly accountId: string;
  readonly role: TemplateRole;
}

/** A run of real code under one or more roles; throws when the run did not do its job. */
export interface Scenario {
  readonly name: string;
  run(): Promise<void>;
}

/** An action a role is granted that no run here can exercise, and why it is granted all the same. */
export interface Unexercised {
  readonly role: string;
  readonly action: string;
  /** Who uses the grant, for the docs' "why". */
  readonly usedBy: string;
  readonly reason: string;
}

export class AccessDeniedInRunError extends Error {
  constructor(readonly denials: readonly Decision[]) {
    super(`denied: ${denials.map((d) => `${d.principal} ${d.action} on ${d.resource}`).join('; ')}`);
    this.name = 'AccessDeniedInRunError';
  }
}

/** Throws when moto refused any of `decisions`. */
export function expectNoDenial(decisions: readonly Decision[]): void {
  const denials = decisions.filter((d) => !d.allowed);
  if (denials.length > 0) throw new AccessDeniedInRunError(denials);
}

/** What the scenarios needed: for each role label, each action it was allowed, with the first scenario. */
export class Usage {
  private readonly byRole = new Map<string, Map<string, string>>();

  constructor(
    private readonly aws: EnforcedAws,
    private readonly roles: readonly RoleUnderTest[],
  ) {}

  private labelOf(decision: Decision): string | undefined {
    const roleName = roleOfPrincipal(decision.principal);
    const account = /:sts::(\d{12}):/.exec(decision.principal ?? '')?.[1];
    return this.roles.find((r) => r.role.roleName === roleName && r.accountId === account)?.label;
  }

  /** Runs `scenario` with every role as the template grants it; fails on any denial. */
  async record(scenario: Scenario): Promise<void> {
    const before = this.aws.decisions().length;
    await scenario.run();
    const decisions = this.aws.decisions().slice(before);
    expectNoDenial(decisions);
    for (const decision of decisions) {
      const label = this.labelOf(decision);
      if (label === undefined) continue;
      const used = this.byRole.get(label) ?? new Map<string, string>();
      if (!used.has(decision.action)) used.set(decision.action, scenario.name);
      this.byRole.set(label, used);
    }
  }

  /** The actions `label` was allowed, each with the scenario that first needed it. */
  used(label: string): ReadonlyMap<string, string> {
    return this.byRole.get(label) ?? new Map();
  }
}

/** Checks that every granted action of each role was used, or is listed in `unexercised` (and nothing else is). */
export function expectEveryGrantUsed(
  roles: readonly RoleUnderTest[],
  usage: Usage,
  unexercised: readonly Unexercised[],
): void {
  for (const { label, role } of roles) {
    const granted = grantedActions(role);
    const used = usage.used(label);
    const excused = unexercised.filter((u) => u.role === label).map((u) => u.action);
    expect(
      granted.filter((a) => !used.has(a) && !excused.includes(a)),
      `${label}: granted, never needed by a run, and not listed as unexercised`,
    ).toEqual([]);
    expect(
      excused.filter((a) => !granted.includes(a) || used.has(a)),
      `${label}: listed as unexercised, but not granted or needed by a run (stale entry)`,
    ).toEqual([]);
    expect([...used.keys()].filter((a) => !granted.includes(a) && a !== 'sts:GetCallerIdentity')).toEqual([]);
  }
}

/**
 * For each action `label` used: the role's policies without it, the scenario that needed it run again, and that
 * run must fail with moto refusing that action to that role. The policies are put back after each.
 */
export async function expectEachGrantNeeded(
  aws: EnforcedAws,
  target: RoleUnderTest,
  usage: Usage,
  scenarios: readonly Scenario[],
): Promise<string[]> {
  const proven: string[] = [];
  for (const [action, scenarioName] of usage.used(target.label)) {
    if (action === 'sts:GetCallerIdentity') continue;
    const scenario = scenarios.find((s) => s.name === scenarioName);
    if (scenario === undefined) throw new Error(`no scenario ${scenarioName}`);
    const reduced = Object.fromEntries(
      Object.entries(target.role.policies).map(([name, policy]) => [name, withoutAction(policy, action)]),
    );
    await aws.setPolicies(target.accountId, target.role.roleName, reduced);
    const before = aws.decisions().length;
    let failure: unknown;
    try {
      await scenario.run();
    } catch (error) {
      failure = error;
    } finally {
      await aws.setPolicies(target.accountId, target.role.roleName, target.role.policies);
    }
    const denied = aws
      .decisions()
      .slice(before)
      .filter(
        (d) => !d.allowed && d.action === action && roleOfPrincipal(d.principal) === target.role.roleName,
      );
    expect(failure, `${target.label} without ${action}: ${scenarioName} still succeeded`).toBeDefined();
    expect(denied.length, `${target.label} without ${action}: moto refused nothing`).toBeGreaterThan(0);
    proven.push(action);
  }
  return proven;
}

/** Why an action is needed: the purpose in the code data, else the action itself. */
function purposeOf(action: string, purposes: Readonly<Record<string, string>>): string {
  return purposes[action] ?? '—';
}

/**
 * One Markdown table per role: each granted action, why KeyWarden needs it, and the run that proves it (removed,
 * that run fails with AccessDenied) or why no run here can.
 */
export function permissionTables(
  roles: readonly RoleUnderTest[],
  usage: Usage,
  unexercised: readonly Unexercised[],
  purposes: Readonly<Record<string, string>>,
  describeRole: (role: RoleUnderTest) => string,
): string {
  const sections = roles.map((target) => {
    const used = usage.used(target.label);
    const rows = grantedActions(target.role).map((action) => {
      const excused = unexercised.find((u) => u.role === target.label && u.action === action);
      const proof =
        action === 'sts:GetCallerIdentity'
          ? 'not enforceable: AWS and moto allow it to every caller'
          : used.has(action)
            ? `${used.get(action)} (fails without it)`
            : `not exercised: ${excused?.reason ?? 'MISSING'}`;
      const why = excused !== undefined ? `used by ${excused.usedBy}` : purposeOf(action, purposes);
      return `| \`${action}\` | ${why} | ${proof} |`;
    });
    return [
      `### ${target.label}`,
      '',
      describeRole(target),
      '',
      '| Action | Why | Proved by |',
      '| --- | --- | --- |',
      ...rows,
    ].join('\n');
  });
  return `${sections.join('\n\n')}\n`;
}
