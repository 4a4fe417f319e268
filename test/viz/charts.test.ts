// Charts as SVG and their PNGs: what a reader needs is there (title, axis titles, tick labels,
// legend), text is really drawn (the bundled font), and the bytes are the same run after run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { svgToPng } from '../../src/cli/render.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { activations } from '../../src/viz/activations.js';
import { confusionMatrixSvg, trainingChartSvg, type TrainingHistory } from '../../src/viz/charts.js';
import { classVisualization } from '../../src/viz/classVisualization.js';
import { activationsSvg, filtersSvg, imageGridSvg } from '../../src/viz/pictures.js';
import { encodePng } from '../../src/viz/png.js';
import { planesToRaster } from '../../src/viz/raster.js';
import { linearTicks } from '../../src/viz/svg.js';
import { randomTensor } from '../helpers.js';

/** A loss falling from 2.3 to ~0.03 over 400 iterations (five epochs of 80). */
function history(): TrainingHistory {
  const lossHistory = Array.from({ length: 400 }, (_, i) => 2.3 * Math.exp(-i / 40) + 0.03 + 0.02 * Math.abs(Math.sin(i)));
  return { lossHistory, trainAccHistory: [0.1, 0.9, 0.95, 0.97, 0.98, 0.985], valAccHistory: [0.12, 0.88, 0.94, 0.96, 0.955, 0.96], checkIterations: [1, 80, 160, 240, 320, 400] };
}

/** Share of non-white pixels in rows [top, bottom) of a PNG. */
function inked(png: Uint8Array, top: number, bottom: number): number {
  const image = PNG.sync.read(Buffer.from(png));
  let ink = 0;
  for (let y = top; y < bottom; y++) for (let x = 0; x < image.width; x++) if (image.data[(y * image.width + x) * 4]! < 200) ink++;
  return ink / ((bottom - top) * image.width);
}

describe('trainingChartSvg', () => {
  test('title, axis titles, tick labels, legend and the best epoch; a log axis when the loss spans a decade', () => {
    const svg = trainingChartSvg(history(), { title: 'Training three-layer on mnist' });
    for (const text of ['Training three-layer on mnist', '>iteration<', '>epoch<', '>loss (log scale)<', '>accuracy<', '>loss per iteration<', 'moving average of 16', '>train<', 'validation (best: epoch 3, validation 0.9600)', '>0.1<', '>1<', '>0.8<', '>400<']) {
      assert.ok(svg.includes(text), `missing ${text}`);
    }
    const flat = trainingChartSvg({ ...history(), lossHistory: history().lossHistory.map((v) => 1 + v / 10) });
    assert.ok(flat.includes('>loss<') && !flat.includes('log scale'));
  });

  test('the PNG has the SVG size and its text drawn (the bundled font is loaded)', () => {
    const png = svgToPng(trainingChartSvg(history()));
    const image = PNG.sync.read(Buffer.from(png));
    assert.deepEqual([image.width, image.height], [900, 760]);
    // The title row: without a font, resvg leaves it blank.
    assert.ok(inked(png, 12, 36) > 0.005, 'title not drawn');
  });

  test('SVG and PNG are the same bytes twice', () => {
    const a = trainingChartSvg(history());
    const b = trainingChartSvg(history());
    assert.equal(a, b);
    assert.deepEqual(svgToPng(a), svgToPng(b));
  });

  test('a run without checks or with a diverged loss still draws', () => {
    const png = svgToPng(trainingChartSvg({ lossHistory: [2.3, NaN, Infinity], trainAccHistory: [], valAccHistory: [], checkIterations: [] }));
    assert.ok(png.length > 1000);
  });
});

describe('confusionMatrixSvg', () => {
  test('class names, counts, recall and the accuracy in the title', () => {
    const svg = confusionMatrixSvg([[8, 2], [1, 9]], ['cat', 'dog']);
    for (const text of ['accuracy 0.8500 (17/20)', '>cat<', '>dog<', '>8<', '>2<', '>9<', '>80.0%<', '>90.0%<', 'predicted class', 'true class']) assert.ok(svg.includes(text), `missing ${text}`);
    assert.ok(svgToPng(svg).length > 1000);
  });
});

describe('pictures', () => {
  test('encodePng gives a PNG that pngjs reads back pixel for pixel', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const image = PNG.sync.read(Buffer.from(encodePng({ width: 5, height: 3, rgb })));
    assert.deepEqual([image.width, image.height], [5, 3]);
    for (let p = 0; p < 15; p++) assert.deepEqual([...image.data.subarray(p * 4, p * 4 + 3)], [...rgb.subarray(p * 3, p * 3 + 3)]);
  });

  test('filters in colour for three channels, each scaled to its own range', () => {
    const w = randomTensor([4, 3, 3, 3], 1);
    const raster = planesToRaster(w.data, 27, 3, 3, 3);
    const values = [...raster.rgb];
    assert.equal(Math.min(...values), 0);
    assert.equal(Math.max(...values), 255);
    const svg = filtersSvg(w);
    assert.ok(svg.includes('First-layer filters: 4 of 3×3×3') && svg.includes('channels shown as R, G, B'));
  });

  test('linearTicks are round numbers covering the range', () => {
    assert.deepEqual(linearTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(linearTicks(0, 400, 8), [0, 50, 100, 150, 200, 250, 300, 350, 400]);
  });

  test('a seeded class visualisation, activations and their pictures are the same bytes twice', () => {
    const model = new ThreeLayerConvNet({ inputDim: [1, 12, 12], numFilters: 3, filterSize: 3, hiddenDim: 8, numClasses: 3, weightScale: 'he', seed: 4 });
    const draw = (): [string, Uint8Array] => {
      const tiles = [0, 1, 2].map((k) => {
        const { image } = classVisualization(model, k, { iterations: 10, seed: 7 });
        return { image: planesToRaster(image.data, 0, 1, 12, 12), caption: [`class ${k}`] };
      });
      const X = classVisualization(model, 0, { iterations: 3, seed: 1 }).image;
      const grid = imageGridSvg(tiles, { title: 'classes' });
      const layers = activationsSvg(planesToRaster(X.data, 0, 1, 12, 12), activations(model, X));
      return [grid + layers, new Uint8Array([...svgToPng(grid), ...svgToPng(layers)])];
    };
    const [svgA, pngA] = draw();
    const [svgB, pngB] = draw();
    assert.equal(svgA, svgB);
    assert.deepEqual(pngA, pngB);
  });
});
