/**
 * Charts as SVG text (browser-safe; `convnet` rasterises them to PNG): the training curves and
 * the confusion matrix, with axes, tick labels, axis titles, legends and a title.
 */
import { colormap, linearTicks, num, rgb, Svg, textWidth, tickLabel, type Rgb } from './svg.js';

/** What `convnet train` records in metrics.json (Solver's histories). */
export interface TrainingHistory {
  /** The loss of every iteration. */
  lossHistory: readonly number[];
  /** Accuracy at each check (after the first iteration, each epoch's end, the last iteration). */
  trainAccHistory: readonly number[];
  valAccHistory: readonly number[];
  /** The iteration (1-based) of each check. */
  checkIterations: readonly number[];
  /** Default: the second check's iteration (the end of epoch 1). */
  iterationsPerEpoch?: number;
}

const BLUE: Rgb = [31, 100, 180];
const LIGHT_BLUE: Rgb = [150, 185, 225];
const ORANGE: Rgb = [230, 120, 20];
const GREEN: Rgb = [30, 150, 60];
const GRID = '#e4e4e4';

interface Panel {
  left: number;
  top: number;
  width: number;
  height: number;
}

interface Axis {
  /** Value → pixel. */
  at: (v: number) => number;
  ticks: { value: number; label: string }[];
}

function linearAxis(min: number, max: number, from: number, to: number, count = 6): Axis {
  const ticks = linearTicks(min, max, count);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  const span = max - min || 1;
  return { at: (v) => from + ((v - min) / span) * (to - from), ticks: ticks.map((value) => ({ value, label: tickLabel(value, step) })) };
}

/** Decades from 10^a to 10^b, with 2× and 5× ticks labelled when there are few decades. */
function logAxis(min: number, max: number, from: number, to: number): Axis {
  const a = Math.floor(Math.log10(min));
  const b = Math.max(a + 1, Math.ceil(Math.log10(max)));
  const ticks: { value: number; label: string }[] = [];
  for (let k = a; k <= b; k++) {
    for (const m of b - a <= 2 ? [1, 2, 5] : [1]) {
      const value = m * 10 ** k;
      if (value > 10 ** b * 1.0001) continue;
      ticks.push({ value, label: k >= -3 && k <= 3 ? String(Number(value.toPrecision(3))) : value.toExponential(0) });
    }
  }
  return { at: (v) => from + ((Math.log10(v) - a) / (b - a)) * (to - from), ticks };
}

/** Frame, grid lines, tick labels and axis titles of a panel. */
function drawAxes(svg: Svg, panel: Panel, x: Axis, y: Axis, xTitle: string, yTitle: string): void {
  const { left, top, width, height } = panel;
  for (const t of y.ticks) {
    const py = y.at(t.value);
    svg.line(left, py, left + width, py, GRID);
    svg.line(left - 5, py, left, py, '#444');
    svg.text(left - 8, py + 4, t.label, { anchor: 'end', size: 12 });
  }
  for (const t of x.ticks) {
    const px = x.at(t.value);
    svg.line(px, top, px, top + height, GRID);
    svg.line(px, top + height, px, top + height + 5, '#444');
    svg.text(px, top + height + 19, t.label, { anchor: 'middle', size: 12 });
  }
  svg.rect(left, top, width, height, { stroke: '#444' });
  svg.text(left + width / 2, top + height + 40, xTitle, { anchor: 'middle', size: 13 });
  svg.text(left - 58, top + height / 2, yTitle, { anchor: 'middle', size: 13, rotate: -90 });
}

/** A legend box at (right edge, top) with one line sample (and marker) per entry. */
function legend(svg: Svg, right: number, top: number, entries: { label: string; color: Rgb; width?: number; marker?: boolean; dash?: string }[]): void {
  const w = 18 + 30 + Math.max(...entries.map((e) => e.label.length)) * 7;
  const h = 10 + entries.length * 20;
  const left = right - w;
  svg.rect(left, top, w, h, { fill: 'white', stroke: '#999' });
  entries.forEach((e, i) => {
    const y = top + 15 + i * 20;
    svg.line(left + 10, y, left + 38, y, rgb(e.color), e.width ?? 2, e.dash);
    if (e.marker) svg.circle(left + 24, y, 3.5, rgb(e.color));
    svg.text(left + 46, y + 4, e.label, { size: 12 });
  });
}

/** A trailing moving average over `window` values: point i averages i − window + 1 … i. */
function movingAverage(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    if (i >= window) sum -= values[i - window]!;
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/**
 * The training chart: loss per iteration (raw and a moving average; a log axis when the losses
 * span a decade or more) above train and validation accuracy per epoch, the best validation
 * epoch marked. Returns SVG text, 900×760.
 */
export function trainingChartSvg(history: TrainingHistory, options: { title?: string } = {}): string {
  const width = 900;
  const svg = new Svg(width, 760);
  svg.text(width / 2, 30, options.title ?? 'Training', { anchor: 'middle', size: 18, weight: 'bold' });

  // Loss panel.
  const losses = history.lossHistory.map((v, i) => [i + 1, v] as const).filter(([, v]) => Number.isFinite(v));
  const lossPanel: Panel = { left: 90, top: 60, width: width - 120, height: 270 };
  const n = Math.max(1, history.lossHistory.length);
  const x = linearAxis(0, n, lossPanel.left, lossPanel.left + lossPanel.width, 8);
  x.ticks = x.ticks.filter((t) => Number.isInteger(t.value));
  const positive = losses.map(([, v]) => v).filter((v) => v > 0);
  const low = positive.length > 0 ? Math.min(...positive) : 1;
  const high = positive.length > 0 ? Math.max(...positive) : 1;
  const useLog = positive.length === losses.length && positive.length > 0 && high / low >= 10;
  const y = useLog ? logAxis(low, high, lossPanel.top + lossPanel.height, lossPanel.top) : linearAxis(0, Math.max(high, 1e-12) * 1.05, lossPanel.top + lossPanel.height, lossPanel.top);
  drawAxes(svg, lossPanel, x, y, 'iteration', useLog ? 'loss (log scale)' : 'loss');
  const window = Math.max(5, Math.round(n / 25));
  const smooth = movingAverage(losses.map(([, v]) => v), window);
  svg.polyline(losses.map(([i, v]) => [x.at(i), y.at(v)]), rgb(LIGHT_BLUE), 1);
  svg.polyline(losses.map(([i], k) => [x.at(i), y.at(smooth[k]!)]), rgb(BLUE), 2.5);
  legend(svg, lossPanel.left + lossPanel.width - 8, lossPanel.top + 8, [
    { label: 'loss per iteration', color: LIGHT_BLUE, width: 1.5 },
    { label: `moving average of ${window}`, color: BLUE, width: 2.5 },
  ]);

  // Accuracy panel: checks placed at their epoch (iteration / iterations per epoch).
  const accPanel: Panel = { left: 90, top: 420, width: width - 120, height: 270 };
  const checks = history.checkIterations;
  const perEpoch = history.iterationsPerEpoch ?? (checks.length >= 2 ? checks[1]! : Math.max(1, checks[0] ?? 1));
  const epochs = checks.map((it) => it / perEpoch);
  const lastEpoch = Math.max(1, Math.ceil(Math.max(0, ...epochs) - 1e-9));
  const ex = linearAxis(0, lastEpoch, accPanel.left, accPanel.left + accPanel.width, Math.min(lastEpoch, 10));
  ex.ticks = ex.ticks.filter((t) => Number.isInteger(t.value));
  const ey = linearAxis(0, 1, accPanel.top + accPanel.height, accPanel.top, 5);
  drawAxes(svg, accPanel, ex, ey, 'epoch', 'accuracy');
  const series = (values: readonly number[], color: Rgb): void => {
    const points = values.map((v, i) => [ex.at(epochs[i] ?? i), ey.at(v)] as [number, number]);
    svg.polyline(points, rgb(color), 2);
    for (const [px, py] of points) svg.circle(px, py, 3.5, rgb(color));
  };
  series(history.trainAccHistory, ORANGE);
  series(history.valAccHistory, GREEN);
  const val = history.valAccHistory;
  const entries: Parameters<typeof legend>[3] = [
    { label: 'train', color: ORANGE, marker: true },
    { label: 'validation', color: GREEN, marker: true },
  ];
  if (val.length > 0) {
    // The first best, as the Solver keeps it (a later tie does not replace it).
    let best = 0;
    for (let i = 1; i < val.length; i++) if (val[i]! > val[best]!) best = i;
    const bx = ex.at(epochs[best] ?? best);
    const by = ey.at(val[best]!);
    svg.line(bx, accPanel.top, bx, accPanel.top + accPanel.height, rgb(GREEN), 1.2, '5,4');
    svg.circle(bx, by, 7, 'none', rgb(GREEN));
    const label = `best: epoch ${num(epochs[best] ?? best)}, validation ${val[best]!.toFixed(4)}`;
    entries[1]!.label = `validation (${label})`;
    entries.push({ label: 'best validation epoch', color: GREEN, width: 1.2, dash: '5,4' });
  }
  legend(svg, accPanel.left + accPanel.width - 8, accPanel.top + accPanel.height - 78, entries);
  return svg.toString();
}

/**
 * The confusion matrix (rows: true class, columns: predicted class) with counts in the cells,
 * each row shaded by its share of the row, and each class's recall at the right.
 */
export function confusionMatrixSvg(confusion: readonly (readonly number[])[], classNames: readonly string[], options: { title?: string } = {}): string {
  const K = confusion.length;
  const cell = K <= 10 ? 48 : Math.max(18, Math.floor(480 / K));
  const nameWidth = Math.min(160, 16 + 7.5 * Math.max(...classNames.map((s) => s.length)));
  const total = confusion.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  const correct = confusion.reduce((sum, row, k) => sum + (row[k] ?? 0), 0);
  const title = options.title ?? `Confusion matrix: accuracy ${(correct / Math.max(1, total)).toFixed(4)} (${correct}/${total})`;
  const content = 60 + nameWidth + K * cell + 110;
  const width = Math.ceil(Math.max(content, textWidth(title, 17, true) + 40));
  // The matrix centred under a title wider than it.
  const left = (width - content) / 2 + 60 + nameWidth;
  const top = 110;
  const height = top + K * cell + 70;
  const svg = new Svg(width, height);
  svg.text(width / 2, 30, title, { anchor: 'middle', size: 17, weight: 'bold' });
  svg.text(left + (K * cell) / 2, 62, 'predicted class', { anchor: 'middle', size: 13 });
  svg.text(left - nameWidth - 38, top + (K * cell) / 2, 'true class', { anchor: 'middle', size: 13, rotate: -90 });
  const fontSize = cell >= 40 ? 13 : 9;
  for (let j = 0; j < K; j++) svg.text(left + j * cell + cell / 2, top - 10, classNames[j] ?? String(j), { anchor: 'middle', size: 12 });
  svg.text(left + K * cell + 55, top - 10, 'recall', { anchor: 'middle', size: 12 });
  for (let i = 0; i < K; i++) {
    const row = confusion[i]!;
    const support = row.reduce((a, b) => a + b, 0);
    svg.text(left - 10, top + i * cell + cell / 2 + 4, classNames[i] ?? String(i), { anchor: 'end', size: 12 });
    for (let j = 0; j < K; j++) {
      const count = row[j] ?? 0;
      const share = support > 0 ? count / support : 0;
      svg.rect(left + j * cell, top + i * cell, cell, cell, { fill: rgb(colormap('blues', share)), stroke: '#ddd', strokeWidth: 0.5 });
      if (count > 0) svg.text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 4.5, String(count), { anchor: 'middle', size: fontSize, fill: share > 0.5 ? 'white' : '#222', weight: i === j ? 'bold' : 'normal' });
    }
    svg.text(left + K * cell + 55, top + i * cell + cell / 2 + 4, support > 0 ? `${(100 * (row[i] ?? 0) / support).toFixed(1)}%` : '-', { anchor: 'middle', size: 12 });
  }
  svg.rect(left, top, K * cell, K * cell, { stroke: '#444' });
  svg.text(left, top + K * cell + 30, 'cells: image counts; shade: share of the true class (row)', { size: 12, fill: '#555' });
  return svg.toString();
}
