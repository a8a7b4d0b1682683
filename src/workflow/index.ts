// The workflow bundle's entry point: every workflow type the worker registers. This folder is the determinism
// boundary: the bundle is built from it, so its modules import only each other and the Temporal workflow SDK
// (eslint.config.mjs enforces it). Node-side code may import these pure modules; they never import Node-side code.
export { serviceSetWorkflow } from './serviceSet';
