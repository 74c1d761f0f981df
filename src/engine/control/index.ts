/**
 * The controller registry: one line per controller. The config's `control.method` values, its
 * validation rules, the clock, the report notes and the app's form options all come from here.
 */
import { lookup } from '../plugin';
import { fixed } from './fixed';
import { fixedOpt } from './fixedOpt';
import { ideal } from './ideal';
import { tsfa } from './tsfa';
import type { ControllerDefinition } from './types';

export * from './types';
export { tailCurve } from './controller';

export const CONTROLLERS = [fixed, fixedOpt, ideal, tsfa] as const satisfies readonly ControllerDefinition[];

export type ControllerName = (typeof CONTROLLERS)[number]['name'];

export const CONTROLLER_NAMES = CONTROLLERS.map((d) => d.name) as [ControllerName, ...ControllerName[]];

export function controllerDef(name: string): ControllerDefinition {
  return lookup<ControllerDefinition>(CONTROLLERS, 'controller', name);
}
