/**
 * The lab's page, main thread: controls, charts (uPlot) and pictures. Every computation goes to
 * the training worker (worker.ts); this thread only draws what comes back, so the page stays
 * responsive while the worker trains.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { DatasetInfo, FromWorker, PickedFile, ToWorker } from './protocol.js';

const PRESETS: Record<string, string> = {
  'three-layer': 'three-layer',
  'batch-norm': '[conv(16,3)-bn-relu]x2-pool-[conv(32,3)-bn-relu]x2-pool-fc(128)-bn-relu-fc(10)',
};
/** Inspection while training: every this many iterations. */
const INSPECT_EVERY = 100;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`the page has no data-testid="${id}"`);
  return element;
};

const worker = new Worker(new URL('./lab-worker.js', import.meta.url), { type: 'module' });
const send = (message: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(message, transfer);

/** What the page knows (also read by the tests through window.__lab). */
const state = {
  ready: false,
  backend: '',
  threads: 0,
  isolated: false,
  dataset: undefined as DatasetInfo | undefined,
  running: false,
  iteration: 0,
  lr: NaN,
  losses: [] as number[],
  checks: [] as { iteration: number; trainAcc: number; valAcc: number }[],
  inspected: 0,
  predictions: 0,
  loaded: undefined as { name: string; testAcc: number; correct: number; count: number } | undefined,
  errors: [] as string[],
  /** The slowest message handler so far: the main thread's longest piece of work. */
  slowest: { type: '', ms: 0 },
};
(window as unknown as { __lab: typeof state }).__lab = state;

// Charts: loss per iteration, train and validation accuracy per check.
const lossData: [number[], number[]] = [[], []];
const accData: [number[], number[], number[]] = [[], [], []];
const chartWidth = (): number => Math.max(320, Math.min(560, ($('loss-chart').parentElement!.clientWidth || 1100) / 2 - 16));
const lossChart = new uPlot(
  {
    title: 'Training loss',
    width: chartWidth(),
    height: 260,
    scales: { x: { time: false } },
    legend: { live: false },
    axes: [{ label: 'iteration' }, { label: 'loss (softmax cross-entropy)' }],
    series: [{ label: 'iteration' }, { label: 'loss', stroke: '#1f77b4', width: 1 }],
  },
  lossData,
  $('loss-chart'),
);
const accChart = new uPlot(
  {
    title: 'Accuracy',
    width: chartWidth(),
    height: 260,
    scales: { x: { time: false }, y: { range: [0, 1] } },
    legend: { live: false },
    axes: [{ label: 'iteration' }, { label: 'accuracy' }],
    series: [{ label: 'iteration' }, { label: 'train', stroke: '#ff7f0e', width: 2, points: { show: true } }, { label: 'validation', stroke: '#2ca02c', width: 2, points: { show: true } }],
  },
  accData,
  $('accuracy-chart'),
);
/** The status line waits for the next frame (one update a frame, however many messages came). */
let statusDirty = false;
let lossDirty = false;
let accDirty = false;
let drawnAt = 0;
/**
 * Each frame: the status line if it changed, then one piece of heavy work at most: a chart
 * whose data changed (one every 200 ms: a redraw repaints the whole chart) or else one waiting
 * picture.
 */
function redraw(now: number): void {
  if (statusDirty) {
    statusDirty = false;
    showStatus();
  }
  if ((lossDirty || accDirty) && now - drawnAt >= 200) {
    drawnAt = now;
    if (accDirty) {
      accDirty = false;
      accChart.setData(accData);
    } else {
      lossDirty = false;
      lossChart.setData(lossData);
    }
  } else {
    drawPicture();
  }
  requestAnimationFrame(redraw);
}
requestAnimationFrame(redraw);

function clearCharts(): void {
  for (const series of [...lossData, ...accData]) series.length = 0;
  state.losses = [];
  state.checks = [];
  lossDirty = accDirty = true;
}

/** Whether the "Inside the network" section is on screen. */
let insideVisible = false;
new IntersectionObserver((entries) => {
  for (const entry of entries) insideVisible = entry.isIntersecting;
}).observe($('view-inside'));

/** Asks the worker for the pictures of the inside of the network (all of them, or the filters). */
function inspect(full = true): void {
  send({ type: 'inspect', index: Math.max(0, Math.round(Number($<HTMLInputElement>('activation-index').value) || 0)), full });
}

function showError(context: string, message: string): void {
  state.errors.push(`${context}: ${message}`);
  const box = $('error');
  box.textContent = `${context}: ${message}`;
  box.hidden = false;
}

function clearError(): void {
  $('error').hidden = true;
}

function showStatus(): void {
  const threads = `${state.threads} thread${state.threads === 1 ? '' : 's'}`;
  const isolation = state.isolated
    ? 'cross-origin isolated'
    : 'not cross-origin isolated (the server sent no COOP/COEP headers), so the kernels run on one thread';
  const run = state.running ? `training, iteration ${state.iteration}` : state.iteration > 0 ? `paused at iteration ${state.iteration}` : 'ready';
  $('status').textContent = `backend ${state.backend} · ${threads} · ${isolation} · ${run}`;
  $('status').dataset.threads = String(state.threads);
  $('status').dataset.backend = state.backend;
  $('progress').textContent = `iteration ${state.iteration}${Number.isFinite(state.lr) ? ` · learning rate in use ${state.lr}` : ''}${state.losses.length > 0 ? ` · loss ${state.losses.at(-1)!.toFixed(4)}` : ''}${state.checks.length > 0 ? ` · val acc ${state.checks.at(-1)!.valAcc.toFixed(3)}` : ''}`;
}

/**
 * Pictures wait for a frame of their own (id → SVG text, the newest wins): parsing one takes the
 * main thread for a while, so the frame loop puts in one at a time, never with a chart redraw.
 */
const pictures = new Map<string, string>();
/** Called once every waiting picture is in the page. */
let whenDrawn: (() => void)[] = [];

function svgInto(id: string, svg: string): void {
  pictures.set(id, svg);
}

/** Puts one waiting picture into the page; true if there was one. */
function drawPicture(): boolean {
  const next = pictures.entries().next();
  if (next.done === true) return false;
  const [id, svg] = next.value;
  pictures.delete(id);
  $(id).innerHTML = svg;
  if (pictures.size === 0) {
    const callbacks = whenDrawn;
    whenDrawn = [];
    for (const callback of callbacks) callback();
  }
  return true;
}

function showPrediction(probabilities: number[], classNames: string[]): void {
  const order = probabilities.map((p, k) => [p, k] as const).sort((a, b) => b[0] - a[0]);
  const best = order[0]!;
  const box = $('prediction');
  box.replaceChildren();
  const head = document.createElement('p');
  head.className = 'verdict';
  head.textContent = `prediction: ${classNames[best[1]]} (${(100 * best[0]).toFixed(1)}%)`;
  box.append(head);
  probabilities.forEach((p, k) => {
    const row = document.createElement('div');
    row.className = 'bar';
    const label = document.createElement('span');
    label.textContent = classNames[k]!;
    const bar = document.createElement('span');
    bar.className = 'fill';
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    const value = document.createElement('span');
    value.textContent = `${(100 * p).toFixed(1)}%`;
    row.append(label, bar, value);
    if (k === best[1]) row.classList.add('best');
    box.append(row);
  });
  box.dataset.predicted = classNames[best[1]];
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const started = performance.now();
  handle(event.data);
  const ms = performance.now() - started;
  if (ms > state.slowest.ms) state.slowest = { type: event.data.type, ms };
};

/** One message from the worker: update the state and draw. */
function handle(message: FromWorker): void {
  switch (message.type) {
    case 'ready':
      Object.assign(state, { backend: message.backend, threads: message.threads, isolated: message.isolated });
      showStatus();
      void loadDatasetList().then(() => chooseDataset());
      break;
    case 'dataset':
      state.dataset = message.info;
      $('dataset-info').textContent = message.info.description;
      buildModel();
      break;
    case 'spec': {
      const box = $('spec-error');
      if (message.spec !== $<HTMLTextAreaElement>('spec').value) break; // an answer to an older text
      if (message.error === null) {
        box.hidden = true;
        break;
      }
      // The message names a position in the spec without whitespace: show it with a caret.
      box.textContent = message.text !== undefined && message.position !== undefined ? `${message.text}\n${' '.repeat(message.position)}^\n${message.error}` : message.error;
      box.hidden = false;
      break;
    }
    case 'model':
      $('summary').textContent = message.summary;
      clearCharts();
      state.iteration = 0;
      state.ready = true;
      showStatus();
      inspect();
      break;
    case 'iteration':
      state.iteration = message.iteration;
      state.lr = message.lr;
      state.losses.push(message.loss);
      lossData[0].push(message.iteration);
      lossData[1].push(message.loss);
      lossDirty = true;
      // While training only the filters (a small picture), and only when they can be seen: the
      // full set takes the main thread long enough to be felt (hundreds of ms on a busy
      // machine), so it waits for a pause.
      if (message.iteration % INSPECT_EVERY === 0 && insideVisible) inspect(false);
      statusDirty = true;
      break;
    case 'accuracy':
      state.checks.push({ iteration: message.iteration, trainAcc: message.trainAcc, valAcc: message.valAcc });
      accData[0].push(message.iteration);
      accData[1].push(message.trainAcc);
      accData[2].push(message.valAcc);
      accDirty = true;
      statusDirty = true;
      break;
    case 'state':
      state.running = message.running;
      state.iteration = message.iteration;
      if (!message.running && message.iteration > 0) inspect();
      showStatus();
      break;
    case 'lr':
      state.lr = message.lr;
      showStatus();
      break;
    case 'inspect':
      svgInto('filters', message.filters);
      if (message.full !== undefined) {
        svgInto('activations', message.full.activations);
        svgInto('confusion', message.full.confusion);
        svgInto('wrong', message.full.wrong || '<p class="note">No mistakes among these test images.</p>');
        whenDrawn.push(() => state.inspected++);
      }
      break;
    case 'predict':
      showPrediction(message.probabilities, message.classNames);
      svgInto('saliency', message.saliency);
      whenDrawn.push(() => state.predictions++);
      break;
    case 'download': {
      const url = URL.createObjectURL(new Blob([message.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = message.name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      break;
    }
    case 'loaded':
      state.loaded = { name: message.name, testAcc: message.testAcc, correct: message.correct, count: message.count };
      $('model-accuracy').textContent = `${message.name}: test acc ${message.testAcc.toFixed(4)} (${message.correct}/${message.count}) on the ${message.dataset} test split`;
      $('model-summary').textContent = message.summary;
      $('model-training').textContent = message.training;
      $('summary').textContent = message.summary;
      clearCharts();
      state.iteration = 0;
      showStatus();
      inspect();
      break;
    case 'error':
      showError(message.context, message.message);
      break;
  }
}
worker.onerror = (event) => showError('worker', event.message);

// Datasets: the shipped digits always; Fashion-MNIST when the server has it; files from disk.
async function loadDatasetList(): Promise<void> {
  try {
    const response = await fetch('datasets.json');
    const list = response.ok ? ((await response.json()) as Record<string, boolean>) : {};
    const option = $('dataset').querySelector<HTMLOptionElement>('option[value="fashion-mnist"]')!;
    option.disabled = list['fashion-mnist'] !== true;
    option.textContent = option.disabled ? 'Fashion-MNIST (the server has none)' : 'Fashion-MNIST (from the server)';
  } catch {
    // a static host without the list: the shipped digits and files from disk
  }
}

async function readFiles(list: FileList | null): Promise<PickedFile[]> {
  return Promise.all(Array.from(list ?? [], async (file) => ({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) })));
}

function chooseDataset(): void {
  clearError();
  const choice = $<HTMLSelectElement>('dataset').value;
  state.ready = false;
  state.dataset = undefined;
  if (choice === 'files') {
    $<HTMLInputElement>('dataset-files').hidden = false;
    $<HTMLInputElement>('dataset-files').click();
    return;
  }
  $<HTMLInputElement>('dataset-files').hidden = true;
  $('dataset-info').textContent = 'loading…';
  send({ type: 'dataset', source: choice as 'mnist' | 'fashion-mnist' });
}
$('dataset').addEventListener('change', chooseDataset);
$('dataset-files').addEventListener('change', async () => {
  const files = await readFiles($<HTMLInputElement>('dataset-files').files);
  if (files.length === 0) return;
  $('dataset-info').textContent = 'reading the files…';
  send({ type: 'dataset', source: 'files', files }, files.map((f) => f.bytes.buffer));
});

// Model: presets fill the spec; editing the spec makes it "my spec" and checks it as you type.
function specFor(preset: string, classes: number): string {
  return (PRESETS[preset] ?? $<HTMLTextAreaElement>('spec').value).replace(/fc\(10\)$/, `fc(${classes})`);
}
$('preset').addEventListener('change', () => {
  const preset = $<HTMLSelectElement>('preset').value;
  if (preset !== 'custom') $<HTMLTextAreaElement>('spec').value = specFor(preset, state.dataset?.classNames.length ?? 10);
  send({ type: 'spec', spec: $<HTMLTextAreaElement>('spec').value });
});
$('spec').addEventListener('input', () => {
  $<HTMLSelectElement>('preset').value = 'custom';
  send({ type: 'spec', spec: $<HTMLTextAreaElement>('spec').value });
});

function buildModel(): void {
  clearError();
  const lr = Number($<HTMLInputElement>('lr').value);
  const batchSize = Math.max(1, Math.min(100, Math.round(Number($<HTMLInputElement>('batch-size').value) || 50)));
  send({ type: 'model', spec: $<HTMLTextAreaElement>('spec').value, batchSize, lr: lr > 0 ? lr : 2e-3, seed: 0 });
}
$('build').addEventListener('click', buildModel);
$('train').addEventListener('click', () => send({ type: 'train' }));
$('pause').addEventListener('click', () => send({ type: 'pause' }));
$('step').addEventListener('click', () => send({ type: 'step' }));
$('lr').addEventListener('change', () => {
  const lr = Number($<HTMLInputElement>('lr').value);
  if (lr > 0 && Number.isFinite(lr)) send({ type: 'lr', lr });
  else showError('learning rate', `expected a number > 0, got '${$<HTMLInputElement>('lr').value}'`);
});
$('inspect').addEventListener('click', () => inspect());
$('activation-index').addEventListener('change', () => inspect());

// The drawing pad: white strokes on black, as MNIST's digits; pointer events cover mouse and touch.
const pad = $<HTMLCanvasElement>('draw-pad');
const pen = pad.getContext('2d', { willReadFrequently: true })!;
function clearPad(): void {
  pen.fillStyle = '#000';
  pen.fillRect(0, 0, pad.width, pad.height);
}
clearPad();
let drawing = false;
let lastSent = 0;
const point = (event: PointerEvent): [number, number] => {
  const box = pad.getBoundingClientRect();
  return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
};
pad.addEventListener('pointerdown', (event) => {
  drawing = true;
  pad.setPointerCapture(event.pointerId);
  const [x, y] = point(event);
  pen.beginPath();
  pen.moveTo(x, y);
  pen.lineTo(x + 0.1, y);
  pen.strokeStyle = '#fff';
  pen.lineWidth = 22;
  pen.lineCap = 'round';
  pen.lineJoin = 'round';
  pen.stroke();
});
pad.addEventListener('pointermove', (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  pen.lineTo(x, y);
  pen.stroke();
  if (performance.now() - lastSent > 150) predictPad();
});
const stop = (): void => {
  if (!drawing) return;
  drawing = false;
  predictPad();
};
pad.addEventListener('pointerup', stop);
pad.addEventListener('pointercancel', stop);
$('clear-pad').addEventListener('click', clearPad);

/** The model's input shape (C, H, W), from the dataset. */
const inputDim = (): [number, number, number] => state.dataset?.inputDim ?? [1, 28, 28];

/** Canvas pixels → (C, H, W) bytes. */
function bytesOf(image: ImageData, C: number): Uint8Array {
  const P = image.width * image.height;
  const out = new Uint8Array(C * P);
  for (let p = 0; p < P; p++) {
    if (C === 3) for (let c = 0; c < 3; c++) out[c * P + p] = image.data[p * 4 + c]!;
    else out[p] = Math.round((image.data[p * 4]! + image.data[p * 4 + 1]! + image.data[p * 4 + 2]!) / 3);
  }
  return out;
}

/**
 * The pad as MNIST draws its digits: the ink's bounding box scaled to fit 20×20 of the 28×28
 * image (for other sizes, in proportion), centred.
 */
function predictPad(): void {
  if (!state.ready) return;
  lastSent = performance.now();
  const [C, H, W] = inputDim();
  const ink = pen.getImageData(0, 0, pad.width, pad.height);
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let y = 0; y < pad.height; y++) {
    for (let x = 0; x < pad.width; x++) {
      if (ink.data[(y * pad.width + x) * 4]! > 20) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  const small = new OffscreenCanvas(W, H);
  const g = small.getContext('2d')!;
  g.fillStyle = '#000';
  g.fillRect(0, 0, W, H);
  if (x1 >= 0) {
    const box = Math.max(x1 - x0 + 1, y1 - y0 + 1);
    const size = (Math.min(W, H) * 20) / 28;
    const scale = size / box;
    const w = (x1 - x0 + 1) * scale;
    const h = (y1 - y0 + 1) * scale;
    g.imageSmoothingQuality = 'high';
    g.drawImage(pad, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (W - w) / 2, (H - h) / 2, w, h);
  }
  const pixels = bytesOf(g.getImageData(0, 0, W, H), C);
  send({ type: 'predict', pixels, source: 'pad' }, [pixels.buffer]);
}

// An uploaded image: scaled to the input size; for one channel, a light background is inverted
// (MNIST's digits are light on black).
$('upload').addEventListener('change', async () => {
  const file = $<HTMLInputElement>('upload').files?.[0];
  if (file === undefined || !state.ready) return;
  const [C, H, W] = inputDim();
  const bitmap = await createImageBitmap(file);
  const small = new OffscreenCanvas(W, H);
  const g = small.getContext('2d')!;
  g.imageSmoothingQuality = 'high';
  g.drawImage(bitmap, 0, 0, W, H);
  const pixels = bytesOf(g.getImageData(0, 0, W, H), C);
  if (C === 1 && pixels.reduce((a, b) => a + b, 0) / pixels.length > 127) for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - pixels[i]!;
  send({ type: 'predict', pixels, source: 'upload' }, [pixels.buffer]);
});

// Models: download the current one, load one from disk.
$('download-model').addEventListener('click', () => send({ type: 'download' }));
$('model-file').addEventListener('change', async () => {
  const [file] = await readFiles($<HTMLInputElement>('model-file').files);
  if (file === undefined) return;
  clearError();
  $('model-accuracy').textContent = `measuring ${file.name} on the test split…`;
  send({ type: 'load', file }, [file.bytes.buffer]);
});

send({ type: 'init' });
