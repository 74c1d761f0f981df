/** Dotted-path helpers for the renderer and transports: the engine's one implementation. */
export { flatten, getAt, pathProblem, setAt } from '../engine/paths';
