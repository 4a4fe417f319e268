/**
 * Visualisation, browser-safe: CS231n's network visualisation through the model contract
 * (saliency maps, fooling images, class visualisations) and each layer's activations.
 */
export { saliencyMap } from './saliency.js';
export { foolingImage, type FoolingOptions, type FoolingResult } from './fooling.js';
export { classVisualization, type ClassVisualizationOptions, type ClassVisualizationResult } from './classVisualization.js';
export { activations, type LayerActivation, type ModuleModel } from './activations.js';
export type { InputBounds, VizModel } from './common.js';
export { trainingChartSvg, confusionMatrixSvg, type TrainingHistory } from './charts.js';
export { imageGridSvg, filtersSvg, activationsSvg, type Tile, type GridOptions } from './pictures.js';
export { planesToRaster, type ToRasterOptions } from './raster.js';
export { encodePng, type Raster } from './png.js';
export type { Colormap } from './svg.js';
