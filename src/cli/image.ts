/**
 * Image files → model inputs for the CLI (`convnet predict`, `convnet visualize`): the decoding
 * and resizing live in the data layer (src/data/image.ts), which image folders use too; this
 * module keeps the names the CLI has always imported from here.
 */
export {
  sniffImage,
  describeBytes,
  decodeImage,
  readImage,
  toPlanes,
  cropToAspect,
  resizeBilinear,
  imageToInput,
  jpegComponents,
  imageToPixels,
  type RgbaImage,
  type Planes,
  type ImageInputOptions,
  type PixelOptions,
  type DecodedPixels,
} from '../data/image.js';
