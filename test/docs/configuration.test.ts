/**
 * docs/configuration.md cannot drift from the code: each option table is compared with the code's own definition
 * (the props interfaces the package exports, CONTEXT_KEYS, ENV, the CLI's COMMANDS table).
 */

import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../functions/cli/args.ts';
import { ENV } from '../../functions/shared/constants.ts';
import { CONTEXT_KEYS } from '../../infra/context.ts';
import { exportedPropsInterfaces } from './definitions.ts';
import { codeOf, markersOf, readPage, tableAfter } from './markdown.ts';

const page = readPage('docs/configuration.md');
const sorted = (values: Iterable<string>): string[] => [...values].sort();

describe('docs/configuration.md', () => {
  it('lists every context key the app reads, and no other, each with a default', () => {
    // Act
    const rows = tableAfter(page, 'context-keys');

    // Assess
    expect(sorted(rows.map(([key]) => codeOf(key) ?? key ?? ''))).toEqual(sorted(CONTEXT_KEYS));
    expect(rows.filter(([, byDefault]) => !byDefault)).toEqual([]);
  });

  it('lists every environment variable the functions read, and no other, each with a default', () => {
    const rows = tableAfter(page, 'environment');

    expect(sorted(rows.map(([name]) => codeOf(name) ?? name ?? ''))).toEqual(sorted(Object.values(ENV)));
    expect(rows.filter(([, byDefault]) => !byDefault)).toEqual([]);
  });

  const interfaces = exportedPropsInterfaces();
  const documented = [...interfaces].filter(([, members]) => members.length > 0);

  it('has a table for each props interface the package exports, and for no other', () => {
    expect(sorted(markersOf(page, 'props'))).toEqual(sorted(documented.map(([name]) => name)));
  });

  it.each(documented)('lists the props of %s exactly, required ones as required', (name, members) => {
    // Act
    const rows = tableAfter(page, `props:${name}`);
    const byName = new Map(rows.map(([prop, byDefault]) => [codeOf(prop), byDefault ?? '']));

    // Assess
    expect(sorted(byName.keys() as Iterable<string>)).toEqual(sorted(members.map((member) => member.name)));
    for (const member of members) {
      const byDefault = byName.get(member.name);
      if (member.optional) expect(byDefault, `${name}.${member.name}`).toMatch(/\S/);
      if (member.optional) expect(byDefault, `${name}.${member.name}`).not.toBe('required');
      else expect(byDefault, `${name}.${member.name}`).toBe('required');
    }
  });

  it('has option and exit-code tables for each CLI command, and for no other', () => {
    expect(sorted(markersOf(page, 'cli-options'))).toEqual(sorted(Object.keys(COMMANDS)));
    expect(sorted(markersOf(page, 'cli-exit-codes'))).toEqual(sorted(Object.keys(COMMANDS)));
  });

  it.each(Object.entries(COMMANDS))(
    'lists every option of keywarden %s, as its help does',
    (command, definition) => {
      // Prepare
      const options = Object.entries(definition.options as Record<string, { short?: string }>);
      const flags = options.flatMap(([long, { short }]) => [`--${long}`, ...(short ? [`-${short}`] : [])]);

      // Act
      const rows = tableAfter(page, `cli-options:${command}`);
      const documented = rows.flatMap(([option]) =>
        [...(option ?? '').matchAll(/`(--?[a-zA-Z][\w-]*)/g)].map((m) => m[1]),
      );

      // Assess
      expect(sorted(new Set(documented as string[]))).toEqual(sorted(flags));
      for (const flag of flags) expect(definition.help, `${command} --help names ${flag}`).toContain(flag);
      const needingDefault = rows.filter(([option]) => !/--help|--version/.test(option ?? ''));
      expect(needingDefault.filter(([, byDefault]) => !byDefault)).toEqual([]);
    },
  );

  it.each(Object.entries(COMMANDS))('lists the exit codes of keywarden %s exactly', (command, definition) => {
    const rows = tableAfter(page, `cli-exit-codes:${command}`);

    expect(sorted(rows.map(([code]) => codeOf(code) ?? ''))).toEqual(
      sorted(definition.exitCodes.map(String)),
    );
    for (const code of definition.exitCodes)
      expect(definition.help).toMatch(new RegExp(`^ +${code} +\\S`, 'm'));
  });
});
