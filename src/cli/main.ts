#!/usr/bin/env node
/**
 * The `convnet` command: `convnet train`, `convnet gradcheck`, `convnet plot`, and for model
 * files `convnet predict`, `convnet evaluate`, `convnet info`, `convnet visualize …`. Bad flags, bad data paths and bad files
 * end with a one-line error and exit code 1, never a stack trace.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConvnetError } from '../errors.js';
import { getBackend, getThreads, setBackend, setThreads, wasmVariant } from '../kernels/index.js';
import type { DatasetName } from './datasets.js';
import { runEvaluate } from './evaluate.js';
import { runExport } from './export.js';
import { ONNX_DEFAULT_OPSET, ONNX_MAX_OPSET, ONNX_MIN_OPSET } from '../io/onnx/export.js';
import { runInfo } from './info.js';
import { parsePort, runLab } from './lab.js';
import { runPredict } from './predict.js';
import { printGradCheckTable, runGradChecks } from './gradcheck.js';
import { resumeOptions, runTrain, UsageError, type TrainCommandOptions } from './train.js';
import { runActivations, runClasses, runFooling, runPlot, runSaliency } from './visualize.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1, got '${value}'`);
    return n;
  };
}

function positiveNumber(name: string, allowZero = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new InvalidArgumentError(`${name} must be a number ${allowZero ? '>= 0' : '> 0'}, got '${value}'`);
    }
    return n;
  };
}

function integerValue(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer, got '${value}'`);
    return n;
  };
}

function channelCount(value: string): 1 | 3 {
  if (value !== '1' && value !== '3') throw new InvalidArgumentError(`--channels must be 1 (grey) or 3 (RGB), got '${value}'`);
  return value === '1' ? 1 : 3;
}

function wholeNumber(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number >= 0, got '${value}'`);
    return Number(value);
  };
}

/** A number in [0, 1). */
function fraction(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`${name} must be a number in [0, 1), got '${value}'`);
    return n;
  };
}

function degrees(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 180) throw new InvalidArgumentError(`${name} must be a number of degrees from 0 to 180, got '${value}'`);
    return n;
  };
}

// `convnet … | head` closes the pipe early: stop quietly rather than with an EPIPE stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command();
program
  .name('convnet')
  .description('Convolutional neural networks from first principles: train, check and inspect them.')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text.split('\n')[0] + '\n') });

program
  .command('train')
  .description('Train a convnet and write model.safetensors, checkpoint.safetensors, metrics.json and pictures (training.png/.svg, filters.png, confusion.png, mistakes.png, activations.png) to --out.')
  .addOption(new Option('--dataset <name>', 'dataset (folder: your own pictures, one sub-folder per class)').choices(['mnist', 'fashion-mnist', 'cifar10', 'folder']).default('mnist'))
  .option('--data <path>', 'dataset location: a folder of IDX files (MNIST, Fashion-MNIST; default for fashion-mnist: /usr/share/datasets/fashion-mnist), or cifar-10-binary.tar.gz / its .bin folder (CIFAR-10), or a folder with one sub-folder of PNG/JPEG pictures per class (folder). Without it, mnist uses the 10,000 digits that ship with convnet')
  .option('--size <pixels>', '--dataset folder: resize every picture to SIZE×SIZE (default 32)', positiveInt('--size'))
  .option('--channels <n>', '--dataset folder: convert every picture to 1 (grey) or 3 (RGB) channels (default: what the pictures are; a mix of grey and colour needs it)', channelCount)
  .addOption(new Option('--resize <mode>', '--dataset folder: stretch the whole picture (bilinear, default) or centre-crop it to a square first (crop; then predict with --crop)').choices(['bilinear', 'crop']))
  .option('--val-fraction <f>', '--dataset folder: share of each class for validation, without a val/ folder (default 0.1)', fraction('--val-fraction'))
  .option('--test-fraction <f>', '--dataset folder: share of each class for test, without a test/ folder (default 0.1)', fraction('--test-fraction'))
  .option('--skip-bad-images', '--dataset folder: skip files that are not readable PNG or JPEG images, with a warning naming each (default: an error)')
  .option('--cache-dir <dir>', '--dataset folder: where to cache the decoded pictures (default: DIR/.convnet-cache)')
  .option('--no-cache', '--dataset folder: decode every picture, write no cache')
  .option('--model <model>', "'three-layer', 'fc' or a spec such as '[conv(32,3)-bn-relu]x2-pool-fc(128)-relu-fc(10)'", 'three-layer')
  .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 10)
  .option('--batch-size <n>', 'minibatch size', positiveInt('--batch-size'), 50)
  .addOption(new Option('--update <rule>', 'update rule').choices(['sgd', 'momentum', 'rmsprop', 'adam']).default('adam'))
  .option('--lr <rate>', 'learning rate', positiveNumber('--lr'), 2e-3)
  .option('--lr-decay <factor>', 'learning-rate factor applied at each epoch end', positiveNumber('--lr-decay'), 0.8)
  .addOption(new Option('--schedule <kind>', "learning-rate schedule: 'exp' multiplies it by --lr-decay at each epoch end, 'step' every --step-epochs epochs, 'cosine' anneals it to 0 over the run (per iteration)").choices(['exp', 'cosine', 'step']).default('exp'))
  .option('--warmup <epochs>', 'epochs of linear learning-rate warm-up from lr/iterations to lr', wholeNumber('--warmup'), 0)
  .option('--step-epochs <n>', "--schedule step: epochs between two --lr-decay factors", positiveInt('--step-epochs'), 1)
  .option('--weight-decay <lambda>', 'decoupled weight decay (AdamW): each step multiplies the conv and fc weights by 1 - lr·lambda (not part of the loss, unlike --reg)', positiveNumber('--weight-decay', true), 0)
  .option('--label-smoothing <eps>', 'train on the targets (1 - eps)·onehot + eps/classes', fraction('--label-smoothing'), 0)
  .option('--reg <strength>', 'L2 regularisation strength', positiveNumber('--reg', true), 0)
  .option('--num-train <n>', 'use only the first N training images', positiveInt('--num-train'))
  .option('--shift <pixels>', 'augment: translate each training image by up to this many pixels', integerValue('--shift'), 1)
  .option('--flip', 'augment: mirror training images left to right at random (natural images)', false)
  .option('--rotate <degrees>', 'augment: rotate each training image by a random angle up to ± this many degrees (bilinear)', degrees('--rotate'), 0)
  .option('--scale <fraction>', 'augment: scale each training image by a random factor in [1 - f, 1 + f] (bilinear)', fraction('--scale'), 0)
  .option('--seed <n>', 'seed for initialisation, minibatches, augmentation and dropout', integerValue('--seed'), 0)
  .addOption(new Option('--dtype <dtype>', 'element type').choices(['float32', 'float64']).default('float32'))
  .option('--out <dir>', 'output folder', 'convnet-out')
  .option('--no-progress', 'no progress bar')
  .option('--threads <n>', 'worker threads for the WebAssembly kernels (default: CONVNET_THREADS, else the number of cores)', positiveInt('--threads'))
  .addOption(new Option('--backend <name>', 'kernel backend (default: CONVNET_BACKEND, else wasm where the engine has SIMD)').choices(['auto', 'wasm', 'js']))
  .option('--resume <dir>', "continue the run whose checkpoint.safetensors is in DIR, with that run's options (--epochs may raise the total)")
  .action(async (opts: Omit<TrainCommandOptions, 'progress'> & { progress: boolean; threads?: number; backend?: 'auto' | 'wasm' | 'js'; resume?: string }, command: Command) => {
    const { threads, backend, resume, ...trainOptions } = opts;
    if (backend !== undefined) setBackend(backend);
    if (threads !== undefined) setThreads(threads);
    const progress = opts.progress && process.stderr.isTTY === true;
    let run: { options: TrainCommandOptions; checkpoint?: Uint8Array } = { options: { ...trainOptions, progress } };
    if (resume !== undefined) {
      // A resumed run keeps its own options: only where and how it runs may change.
      const changeable = new Set(['resume', 'epochs', 'threads', 'backend', 'progress']);
      const given = Object.keys(opts).filter((key) => command.getOptionValueSource(key) === 'cli' && !changeable.has(key));
      if (given.length > 0) throw new UsageError(`--resume continues a run with the options it was started with; only --epochs, --threads and --backend can be given with it, got --${given.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')}`);
      run = resumeOptions(resume, command.getOptionValueSource('epochs') === 'cli' ? opts.epochs : undefined, progress);
    }
    const variant = getBackend() === 'wasm' ? ` (${wasmVariant()})` : '';
    console.log(`kernels: ${getBackend()}${variant}, ${getThreads()} thread${getThreads() === 1 ? '' : 's'}`);
    const summary = await runTrain(run.options, console.log, run.checkpoint);
    // 128 + SIGINT, as a shell reports a command that Ctrl-C ended.
    if (summary.stopped) process.exitCode = 130;
  });

program
  .command('gradcheck')
  .description("Check every layer's backward pass against numerical gradients (float64) and print a table.")
  .option('--seed <n>', 'seed for the random inputs', integerValue('--seed'), 0)
  .option('--tolerance <t>', 'largest relative error that passes', positiveNumber('--tolerance'), 1e-7)
  .action((opts: { seed: number; tolerance: number }) => {
    const ok = printGradCheckTable(runGradChecks(opts.seed), opts.tolerance, console.log);
    if (!ok) process.exitCode = 1;
  });

program
  .command('predict')
  .description("Classify images (PNG or JPEG files, or folders of them) with a model file: each image's most likely classes and their probabilities.")
  .argument('<model>', 'model file (model.safetensors from convnet train)')
  .argument('<images...>', 'image files or folders (their PNG and JPEG files, sorted by name)')
  .option('--top <k>', 'classes to show per image', positiveInt('--top'), 3)
  .option('--crop', "centre-crop each image to the model's aspect ratio before resizing (default: stretch the whole image)", false)
  .option('--json', 'print [{ file, predictions: [{ class, name, probability }] }]', false)
  .action(async (model: string, images: string[], opts: { top: number; crop: boolean; json: boolean }) => {
    await runPredict(model, images, opts);
  });

program
  .command('evaluate')
  .description("A model file's test accuracy, per-class precision and recall, and confusion matrix on the dataset it was trained on (or the one given).")
  .argument('<model>', 'model file (model.safetensors from convnet train)')
  .addOption(new Option('--dataset <name>', "dataset (default: the model file's)").choices(['mnist', 'fashion-mnist', 'cifar10', 'folder']))
  .option('--data <path>', "dataset location, as for train (default: the model file's, else mnist's shipped digits or Debian's Fashion-MNIST folder)")
  .option('--json', 'print the accuracy, per-class metrics and confusion matrix as JSON', false)
  .option('--out <dir>', 'also write confusion.png, mistakes.png and activations.png to this folder')
  .action(async (model: string, opts: { dataset?: DatasetName; data?: string; json: boolean; out?: string }) => {
    await runEvaluate(model, opts);
  });

program
  .command('info')
  .description("A model file's layers, parameters and metadata: convnet version, dtype, preprocessing, class names, training summary.")
  .argument('<model>', 'model file (model.safetensors from convnet train)')
  .option('--json', 'print it as JSON', false)
  .action(async (model: string, opts: { json: boolean }) => {
    await runInfo(model, opts);
  });

program
  .command('export')
  .description('Write a model file as an ONNX model (for onnxruntime, PyTorch and other runtimes), with its class names and preprocessing in the metadata.')
  .argument('<model>', 'model file (model.safetensors from convnet train)')
  .requiredOption('-o, --out <file>', 'the .onnx file to write')
  .option('--opset <n>', `ONNX opset, ${ONNX_MIN_OPSET} to ${ONNX_MAX_OPSET}`, positiveInt('--opset'), ONNX_DEFAULT_OPSET)
  .option('--softmax', "end in Softmax: output 'probabilities' instead of 'scores'", false)
  .action(async (model: string, opts: { out: string; opset: number; softmax: boolean }) => {
    await runExport(model, opts);
  });

program
  .command('plot')
  .description("Draw training.png and training.svg (loss per iteration, accuracy per epoch) from a metrics.json that convnet train wrote.")
  .argument('<metrics>', 'metrics.json')
  .option('--out <dir>', "output folder (default: the metrics file's folder)")
  .action((metrics: string, opts: { out?: string }) => {
    console.log(`wrote ${runPlot(metrics, opts).join(', ')}`);
  });

const visualize = program.command('visualize').description("CS231n's network visualisation of a model file: saliency maps, fooling images, class visualisations, activations (one PNG each in --out).");
const outOption = (): Option => new Option('--out <dir>', 'output folder').default('.');

visualize
  .command('saliency')
  .description('saliency.png: each image beside max over channels of |∂ score of the predicted class / ∂ pixel|.')
  .argument('<model>', 'model file')
  .argument('<images...>', 'PNG or JPEG files')
  .addOption(outOption())
  .action(async (model: string, images: string[], opts: { out: string }) => {
    console.log(`wrote ${await runSaliency(model, images, opts)}`);
  });

visualize
  .command('fooling')
  .description('fooling.png: the image changed by gradient ascent until the model predicts --target, and the change.')
  .argument('<model>', 'model file')
  .argument('<image>', 'PNG or JPEG file')
  .requiredOption('--target <k>', 'the class to fool the model into', (v: string) => Number(integerValue('--target')(v)))
  .option('--max-iterations <n>', 'gradient steps at most', positiveInt('--max-iterations'), 100)
  .addOption(new Option('--objective <what>', "climb the target's log-probability (its score against the others) or its raw score (CS231n's notebook)").choices(['log-probability', 'score']).default('log-probability'))
  .addOption(outOption())
  .action(async (model: string, image: string, opts: { target: number; maxIterations: number; objective: string; out: string }) => {
    const result = await runFooling(model, image, { ...opts, objective: opts.objective === 'score' ? 'score' : 'logProbability' });
    console.log(`${result.success ? 'fooled' : 'not fooled'} after ${result.iterations} steps; wrote ${result.path}`);
  });

visualize
  .command('classes')
  .description("classes.png: for each class, an image grown from noise that the model scores as that class.")
  .argument('<model>', 'model file')
  .option('--iterations <n>', 'gradient steps per class', positiveInt('--iterations'), 100)
  .option('--seed <n>', 'seed of the starting noise and the jitter', integerValue('--seed'), 0)
  .addOption(outOption())
  .action(async (model: string, opts: { iterations: number; seed: number; out: string }) => {
    console.log(`wrote ${await runClasses(model, opts)}`);
  });

visualize
  .command('activations')
  .description("activations.png: every layer's outputs for one image.")
  .argument('<model>', 'model file')
  .argument('<image>', 'PNG or JPEG file')
  .addOption(outOption())
  .action(async (model: string, image: string, opts: { out: string }) => {
    console.log(`wrote ${await runActivations(model, image, opts)}`);
  });

program
  .command('lab')
  .description('Serve the lab on 127.0.0.1: a page that trains a convnet in a Web Worker on the WebAssembly threads and shows its charts, filters, activations, confusion matrix and mistakes, classifies what you draw, and loads and saves model files.')
  .option('--port <n>', 'port (0: any free one)', parsePort, 8080)
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--no-isolation', 'send no COOP/COEP headers (the page then runs on one thread, as on a plain static host)')
  .action(async (opts: { port: number; host: string; isolation: boolean }) => {
    await runLab(opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConvnetError || error instanceof UsageError) {
    console.error(`convnet: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
