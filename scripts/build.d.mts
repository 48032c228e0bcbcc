/** Types of scripts/build.mjs, for the TypeScript scripts and tests that import it. */

export interface Metafile {
  readonly inputs: Record<string, { readonly bytes: number }>;
  readonly outputs: Record<
    string,
    {
      readonly bytes: number;
      readonly entryPoint?: string;
      readonly imports: readonly { readonly path: string; readonly kind: string }[];
      readonly inputs: Record<string, { readonly bytesInOutput: number }>;
    }
  >;
}

export interface BuiltFunction {
  readonly name: string;
  readonly outdir: string;
  readonly metafile: Metafile;
}

export const ESM_REQUIRE_BANNER: string;
export function entryPoints(root?: string): { name: string; entry: string }[];
export function buildOptions(
  entry: string,
  outdir: string,
  options?: { splitting?: boolean; root?: string },
): Record<string, unknown>;
export function buildFunction(
  entry: string,
  outdir: string,
  options?: { splitting?: boolean; root?: string; writeMetafile?: boolean },
): Promise<Metafile>;
export function build(options?: {
  root?: string;
  outRoot?: string;
  splitting?: boolean;
  writeMetafile?: boolean;
}): Promise<BuiltFunction[]>;
export function outputFiles(metafile: Metafile): {
  entry: string | undefined;
  eager: string[];
  all: string[];
};
export function outputSizes(metafile: Metafile): {
  eagerBytes: number;
  totalBytes: number;
  lazyChunks: number;
};
