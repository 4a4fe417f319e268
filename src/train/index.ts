/** Training: update rules, the model contract and the Solver. */
export * from './optim.js';
export * from './solver.js';
export * from './augment.js';
