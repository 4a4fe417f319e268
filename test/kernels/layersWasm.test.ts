/**
 * The fast-versus-naive layer tests (test/layers/fast.test.ts, batchnormFast.test.ts, groupnormFast.test.ts) and the ONNX conformance cases
 * (test/conformance/onnx.test.ts) with the wasm backend forced, whatever the automatic choice or
 * CONVNET_BACKEND says: their own files run on the default backend (wasm in Node), these on
 * each backend explicitly.
 */
import { setBackend } from '../../src/kernels/index.js';

setBackend('wasm');
await import('../layers/fast.test.js');
await import('../layers/batchnormFast.test.js');
await import('../layers/groupnormFast.test.js');
await import('../conformance/onnx.test.js');
