/** Types of scripts/package.mjs, for the tests that import it. */

export function rewriteDeclarationSpecifiers(text: string): string;
