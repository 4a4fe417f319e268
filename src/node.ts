/**
 * convnet/node: what needs Node's file system. Model files on disk (saveModel, loadModel: the
 * format of encodeModel / decodeModel, written atomically) and atomic file writes.
 */
export { saveModel, loadModel } from './io/files.js';
export { writeFileAtomic } from './io/atomic.js';
