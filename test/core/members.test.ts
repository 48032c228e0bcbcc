import { describe, expect, it } from 'vitest';
import {
  type ListedAccount,
  type MemberSelection,
  memberAccounts,
  memberListing,
} from '../../functions/core/members.ts';

const CENTRAL = '111111111111';
const MANAGEMENT = '999999999999';
const WORKLOAD = '222222222222';
const TEAM_APP = '333333333333';
const CLOSED = '444444444444';
const OUTSIDE = '555555555555';
const OU = 'ou-ab12-cd34ef56';

const NONE: MemberSelection = {
  ous: undefined,
  accountIds: undefined,
  centralAccountId: undefined,
  managementAccountId: undefined,
};

/** What a walk of OU's tree lists (the central account sits in the OU too). */
const UNDER_OU: readonly ListedAccount[] = [
  { accountId: CENTRAL, name: 'security', state: 'ACTIVE' },
  { accountId: WORKLOAD, name: 'workload', state: 'ACTIVE' },
  { accountId: TEAM_APP, name: 'team-app', state: 'ACTIVE' },
  { accountId: CLOSED, name: 'closed', state: 'SUSPENDED' },
];
const ids = (selection: MemberSelection, listed: readonly ListedAccount[] | undefined, canList = true) =>
  memberAccounts(selection, memberListing(selection, canList), listed).members.map((m) => m.accountId);

describe('memberListing', () => {
  it.each([
    {
      case: 'OUs with a reader: walk the OUs',
      selection: { ...NONE, ous: [OU, OU] },
      canList: true,
      kind: 'organizational-units',
    },
    {
      case: 'OUs without a reader: nothing to read',
      selection: { ...NONE, ous: [OU], accountIds: [WORKLOAD] },
      canList: false,
      kind: 'none',
    },
    {
      case: 'allow-list alone: nothing to read',
      selection: { ...NONE, accountIds: [WORKLOAD] },
      canList: true,
      kind: 'none',
    },
    {
      case: 'allow-list and OUs: walk the OUs (the StackSet intersects)',
      selection: { ...NONE, ous: [OU], accountIds: [WORKLOAD] },
      canList: true,
      kind: 'organizational-units',
    },
    { case: 'neither: the whole organization', selection: NONE, canList: true, kind: 'organization' },
    {
      case: 'empty OUs: the whole organization',
      selection: { ...NONE, ous: [] },
      canList: true,
      kind: 'organization',
    },
  ])('$case', ({ selection, canList, kind }) => {
    expect(memberListing(selection, canList).kind).toBe(kind);
  });

  it('names each OU once', () => {
    expect(memberListing({ ...NONE, ous: [OU, OU, 'r-ab12'] }, true)).toEqual({
      kind: 'organizational-units',
      ous: [OU, 'r-ab12'],
    });
  });
});

describe('memberAccounts', () => {
  it.each([
    {
      case: 'the ACTIVE accounts under the OUs are members',
      selection: { ...NONE, ous: [OU] },
      expected: [CENTRAL, WORKLOAD, TEAM_APP],
    },
    {
      case: 'the central account is left out',
      selection: { ...NONE, ous: [OU], centralAccountId: CENTRAL },
      expected: [WORKLOAD, TEAM_APP],
    },
    {
      case: 'the management account is a member though outside the OUs (its member stack is deployed by hand)',
      selection: { ...NONE, ous: [OU], centralAccountId: CENTRAL, managementAccountId: MANAGEMENT },
      expected: [WORKLOAD, TEAM_APP, MANAGEMENT],
    },
    {
      case: 'the management account that is the central account is left out',
      selection: { ...NONE, ous: [OU], centralAccountId: MANAGEMENT, managementAccountId: MANAGEMENT },
      expected: [CENTRAL, WORKLOAD, TEAM_APP],
    },
    {
      case: 'with an allow-list, only its accounts of the OUs',
      selection: {
        ...NONE,
        ous: [OU],
        accountIds: [TEAM_APP, OUTSIDE, CLOSED],
        managementAccountId: MANAGEMENT,
      },
      expected: [TEAM_APP],
    },
    {
      case: 'an allow-list naming the management account keeps it',
      selection: { ...NONE, ous: [OU], accountIds: [TEAM_APP, MANAGEMENT], managementAccountId: MANAGEMENT },
      expected: [TEAM_APP, MANAGEMENT],
    },
  ])('$case', ({ selection, expected }) => {
    expect(ids(selection, UNDER_OU)).toEqual([...expected].sort());
  });

  it.each([
    { state: 'ACTIVE', expected: [WORKLOAD] },
    { state: 'SUSPENDED', expected: [] },
    { state: 'PENDING_CLOSURE', expected: [] },
    { state: undefined, expected: [] },
  ])('an account in state $state is a member only when ACTIVE', ({ state, expected }) => {
    const listed = [{ accountId: WORKLOAD, name: 'workload', state }];
    expect(ids({ ...NONE, ous: [OU] }, listed)).toEqual(expected);
    expect(ids(NONE, listed)).toEqual(expected);
  });

  it.each([
    {
      case: 'the whole organization: every ACTIVE account',
      selection: NONE,
      expected: [CENTRAL, WORKLOAD, TEAM_APP],
    },
    {
      case: 'the whole organization: the management account only as listed',
      selection: { ...NONE, centralAccountId: CENTRAL, managementAccountId: OUTSIDE },
      expected: [WORKLOAD, TEAM_APP],
    },
  ])('$case', ({ selection, expected }) => {
    expect(ids(selection, UNDER_OU)).toEqual(expected);
  });

  it.each([
    {
      case: 'the allow-list as given without a listing, the central account left out',
      selection: { ...NONE, accountIds: [OUTSIDE, CENTRAL, WORKLOAD], centralAccountId: CENTRAL },
      canList: true,
      expected: [WORKLOAD, OUTSIDE],
    },
    {
      case: 'the allow-list as given when OUs cannot be listed (no reader role)',
      selection: { ...NONE, ous: [OU], accountIds: [OUTSIDE, WORKLOAD] },
      canList: false,
      expected: [WORKLOAD, OUTSIDE],
    },
  ])('$case', ({ selection, canList, expected }) => {
    expect(ids(selection, undefined, canList)).toEqual(expected);
  });

  it('says why each listed or named account is left out', () => {
    const selection: MemberSelection = {
      ous: [OU],
      accountIds: [CENTRAL, TEAM_APP, OUTSIDE],
      centralAccountId: CENTRAL,
      managementAccountId: undefined,
    };

    const { members, leftOut } = memberAccounts(selection, memberListing(selection, true), UNDER_OU);

    expect(members).toEqual([{ accountId: TEAM_APP, name: 'team-app' }]);
    expect(leftOut).toEqual([
      { accountId: CENTRAL, reason: 'central-account' },
      { accountId: CLOSED, reason: 'not-active' },
      { accountId: WORKLOAD, reason: 'not-in-member-account-ids' },
      { accountId: OUTSIDE, reason: 'outside-member-ous' },
    ]);
  });

  it('lists each member once, by id, with the name Organizations gave', () => {
    const twice = [...UNDER_OU, { accountId: WORKLOAD, name: 'workload', state: 'ACTIVE' }];

    const { members } = memberAccounts(
      { ...NONE, ous: [OU] },
      memberListing({ ...NONE, ous: [OU] }, true),
      twice,
    );

    expect(members).toEqual([
      { accountId: CENTRAL, name: 'security' },
      { accountId: WORKLOAD, name: 'workload' },
      { accountId: TEAM_APP, name: 'team-app' },
    ]);
  });
});
