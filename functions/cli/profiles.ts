/**
 * Whether a named AWS profile exists, checked before the SDK is asked for credentials: for a missing profile the
 * SDK reports missing credentials, or a missing region when no region is given, neither of which names the cause.
 */

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

export interface SharedFile {
  readonly path: string;
  /** Undefined when the file could not be read (usually: it does not exist). */
  readonly text: string | undefined;
}

/**
 * The profile names a shared config or credentials file defines. The config file names them `[profile NAME]`
 * (and `[default]`); the credentials file `[NAME]`. Other sections (`[sso-session x]`, `[services x]`) are not
 * profiles. Pure.
 */
export function profileNames(text: string, kind: 'config' | 'credentials'): Set<string> {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const section = /^\s*\[\s*([^\]]*?)\s*\]/.exec(line)?.[1];
    if (section === undefined) continue;
    if (kind === 'credentials') {
      names.add(section);
      continue;
    }
    const profile = /^profile\s+(.+)$/.exec(section)?.[1];
    if (profile !== undefined) names.add(profile.trim());
    else if (section === 'default') names.add('default');
  }
  return names;
}

/** The files the SDK reads profiles from: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/. */
export function sharedFilePaths(env: Env): { config: string; credentials: string } {
  const home = env.HOME || homedir();
  const resolve = (file: string): string => (file.startsWith('~/') ? path.join(home, file.slice(2)) : file);
  return {
    config: resolve(env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config')),
    credentials: resolve(env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials')),
  };
}

/** Why the profile cannot be used, naming the files read; undefined when one of them defines it. Pure. */
export function missingProfileMessage(
  profile: string,
  source: string,
  config: SharedFile,
  credentials: SharedFile,
): string | undefined {
  const known = new Set([
    ...(config.text === undefined ? [] : profileNames(config.text, 'config')),
    ...(credentials.text === undefined ? [] : profileNames(credentials.text, 'credentials')),
  ]);
  if (known.has(profile)) return undefined;
  const files = [config, credentials]
    .map((file) => `${file.path}${file.text === undefined ? ' (not found)' : ''}`)
    .join(' and ');
  const choices = known.size > 0 ? `; profiles there: ${[...known].sort().join(', ')}` : '';
  return `AWS profile ${JSON.stringify(profile)} (${source}) does not exist: looked in ${files}${choices}. Create it with \`aws configure --profile ${profile}\` or pick another.`;
}

async function readShared(file: string): Promise<SharedFile> {
  try {
    return { path: file, text: await readFile(file, 'utf8') };
  } catch {
    return { path: file, text: undefined };
  }
}

/**
 * Checks the profile the SDK would use (`--profile`, else AWS_PROFILE) against the shared files; undefined when
 * no profile is named or it exists.
 */
export async function checkProfile(flag: string | undefined, env: Env): Promise<string | undefined> {
  const profile = flag ?? (env.AWS_PROFILE || undefined);
  if (profile === undefined) return undefined;
  const paths = sharedFilePaths(env);
  const [config, credentials] = await Promise.all([readShared(paths.config), readShared(paths.credentials)]);
  return missingProfileMessage(
    profile,
    flag !== undefined ? '--profile' : 'AWS_PROFILE',
    config,
    credentials,
  );
}
