/**
 * A real headless Chromium for the tests that render HTML: found through KEYWARDEN_CHROMIUM, else on the PATH
 * (Debian's `chromium`, or Chrome), else a one-line error saying how to install it. `.ci/run` installs it.
 */

import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';

export const CHROMIUM_ENV = 'KEYWARDEN_CHROMIUM';
const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
export const INSTALL_HINT = `no Chromium found: install it (Debian/Ubuntu: apt-get install -y chromium) or set ${CHROMIUM_ENV}=/path/to/chrome`;

export class ChromiumNotFoundError extends Error {
  override name = 'ChromiumNotFoundError';
}

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The browser to run: KEYWARDEN_CHROMIUM when set (it must exist), else the first known name on the PATH. */
export function findChromium(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env[CHROMIUM_ENV];
  if (configured) {
    if (executable(configured)) return configured;
    throw new ChromiumNotFoundError(
      `${CHROMIUM_ENV}=${configured} is not an executable file; ${INSTALL_HINT}`,
    );
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of NAMES) {
      const candidate = path.join(dir, name);
      if (executable(candidate)) return candidate;
    }
  }
  throw new ChromiumNotFoundError(INSTALL_HINT);
}

function runBrowser(browser: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      browser,
      [...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${path.basename(browser)} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

export interface Rendered {
  readonly png: Buffer;
  /** The DOM after parsing (Chromium's --dump-dom). */
  readonly dom: string;
}

/** Opens the file in headless Chromium, offline: a screenshot of the page and its DOM. */
export async function renderPage(file: string, size = { width: 1200, height: 1800 }): Promise<Rendered> {
  const browser = findChromium();
  const work = mkdtempSync(path.join(tmpdir(), 'kw-chromium-'));
  const shot = path.join(work, 'page.png');
  const common = [
    '--headless',
    // Root (CI containers) cannot use the sandbox; the page is our own file, opened with no network.
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-extensions',
    `--user-data-dir=${path.join(work, 'profile')}`,
    '--proxy-server=127.0.0.1:9',
    '--proxy-bypass-list=<-loopback>',
  ];
  try {
    await runBrowser(
      browser,
      [...common, `--screenshot=${shot}`, `--window-size=${size.width},${size.height}`, `file://${file}`],
      60_000,
    );
    const dom = await runBrowser(browser, [...common, '--dump-dom', `file://${file}`], 60_000);
    return { png: readFileSync(shot), dom };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface PngStats {
  readonly width: number;
  readonly height: number;
  /** Share of pixels that are not white (ink). */
  readonly inkShare: number;
  readonly distinctColours: number;
}

/** Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) enough to count its pixels. */
export function pngStats(png: Buffer): PngStats {
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8).toString('latin1');
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const colourType = body[9];
      if (body[8] !== 8 || (colourType !== 2 && colourType !== 6)) throw new Error('unsupported PNG format');
      channels = colourType === 6 ? 4 : 3;
    } else if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] as number;
      const left = x >= channels ? (pixels[y * stride + x - channels] as number) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] as number) : 0;
      const upLeft = y > 0 && x >= channels ? (pixels[(y - 1) * stride + x - channels] as number) : 0;
      const predictor = ((): number => {
        switch (filter) {
          case 1:
            return left;
          case 2:
            return up;
          case 3:
            return Math.floor((left + up) / 2);
          case 4: {
            const p = left + up - upLeft;
            const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
            return pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          }
          default:
            return 0;
        }
      })();
      pixels[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = [pixels[i * channels], pixels[i * channels + 1], pixels[i * channels + 2]] as number[];
    if ((r as number) < 250 || (g as number) < 250 || (b as number) < 250) ink++;
    if (colours.size < 10_000) colours.add(((r as number) << 16) | ((g as number) << 8) | (b as number));
  }
  return { width, height, inkShare: ink / (width * height), distinctColours: colours.size };
}

/** Every URL the DOM would load or link: src, href, xlink:href, srcset attributes and CSS url(...). */
export function externalReferences(dom: string): string[] {
  const found: string[] = [];
  for (const match of dom.matchAll(
    /<[^>]*?\s(?:src|href|xlink:href|srcset|action|poster|data)\s*=\s*["']?([^"'\s>]+)/gi,
  ))
    found.push(match[1] as string);
  for (const match of dom.matchAll(/url\(\s*["']?([^"')]+)/gi)) found.push(match[1] as string);
  for (const match of dom.matchAll(/@import\s+["']?([^"';\s]+)/gi)) found.push(match[1] as string);
  return found;
}
