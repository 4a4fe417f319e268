/**
 * SVG → PNG for the CLI (Node only), with resvg (@resvg/resvg-js: a Rust renderer whose binary
 * ships inside its npm package). Text is set in DejaVu Sans from the dejavu-fonts-ttf package,
 * passed explicitly with system fonts off, so a picture's bytes do not depend on the machine's
 * fonts (without a font resvg silently drops all text).
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { FONT } from '../viz/svg.js';

const require = createRequire(import.meta.url);
const FONT_FILES = [require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'), require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf')];

/** PNG bytes of an SVG document, at its own size. */
export function svgToPng(svg: string): Uint8Array {
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: FONT_FILES, defaultFontFamily: FONT, sansSerifFamily: FONT },
    background: 'white',
  });
  return resvg.render().asPng();
}

/** Writes DIR/NAME.png (and DIR/NAME.svg when asked); returns the file names written. */
export function writePicture(dir: string, name: string, svg: string, options: { svg?: boolean } = {}): string[] {
  writeFileSync(join(dir, `${name}.png`), svgToPng(svg));
  if (options.svg !== true) return [`${name}.png`];
  writeFileSync(join(dir, `${name}.svg`), svg);
  return [`${name}.png`, `${name}.svg`];
}
