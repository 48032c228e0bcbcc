import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkProfile,
  missingProfileMessage,
  profileNames,
  sharedFilePaths,
} from '../../functions/cli/profiles.ts';

describe('profileNames', () => {
  it.each([
    { kind: 'config', text: '[profile dev]\nregion = eu-west-1\n', names: ['dev'] },
    { kind: 'config', text: '[default]\n[ profile  ops ]\n', names: ['default', 'ops'] },
    // A section that is not a profile beside one that is.
    { kind: 'config', text: '[sso-session corp]\n[services local]\n[dev]\n', names: [] },
    { kind: 'credentials', text: '[dev]\naws_access_key_id = AKIA\n', names: ['dev'] },
    { kind: 'credentials', text: '# [dev]\naws_access_key_id = AKIA\n', names: [] },
  ] as const)('finds $names in the $kind file $text', ({ kind, text, names }) => {
    expect([...profileNames(text, kind)].sort()).toEqual(names);
  });
});

describe('missingProfileMessage', () => {
  const config = { path: '/home/ana/.aws/config', text: '[profile dev]\n' };
  const noCredentials = { path: '/home/ana/.aws/credentials', text: undefined };

  it('says nothing for a profile one of the files defines', () => {
    expect(missingProfileMessage('dev', '--profile', config, noCredentials)).toBeUndefined();
  });

  it('names the profile, where it came from, the files read and the profiles they define', () => {
    expect(missingProfileMessage('nosuch', '--profile', config, noCredentials)).toBe(
      'AWS profile "nosuch" (--profile) does not exist: looked in /home/ana/.aws/config and /home/ana/.aws/credentials (not found); profiles there: dev. Create it with `aws configure --profile nosuch` or pick another.',
    );
  });
});

describe('checkProfile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'keywarden-profiles-'));
    await writeFile(path.join(dir, 'config'), '[profile dev]\nregion = eu-west-1\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    { flag: undefined, env: {}, says: undefined },
    { flag: 'dev', env: {}, says: undefined },
    { flag: 'nosuch', env: {}, says: /"nosuch" \(--profile\) does not exist/ },
    { flag: undefined, env: { AWS_PROFILE: 'nosuch' }, says: /"nosuch" \(AWS_PROFILE\) does not exist/ },
    { flag: 'dev', env: { AWS_PROFILE: 'nosuch' }, says: undefined },
  ])('for --profile $flag and $env: $says', async ({ flag, env, says }) => {
    const files = {
      AWS_CONFIG_FILE: path.join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
    };
    const message = await checkProfile(flag, { ...files, ...env });
    if (says === undefined) expect(message).toBeUndefined();
    else expect(message).toMatch(says);
  });

  it('reads ~/.aws when the variables are unset', () => {
    expect(sharedFilePaths({ HOME: '/home/ana' })).toEqual({
      config: '/home/ana/.aws/config',
      credentials: '/home/ana/.aws/credentials',
    });
  });
});
