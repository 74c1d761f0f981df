/**
 * What every pluggable kind (a compressor, a controller) says about itself, so that the config
 * schema, validation, the simulated clock, the report and the app's form are derived from one
 * registry instead of testing method names (docs/extending.md).
 */
import type { z } from 'zod';

/** A titled paragraph of a report's method notes. */
export interface ReportNote { title: string; text: string }

/** The values a config path takes across the runs of a report that use the plug-in, joined ("a / b"). */
export type ValuesOf = (path: string) => string;

export interface PluginDefinition<Name extends string = string> {
  /** The config value that selects it, e.g. `compression.method: "topk"`. */
  readonly name: Name;
  /** One clause for the config docs and the form: what it does. */
  readonly summary: string;
  /** Extra config fields of this plug-in, in its config section (zod, with `.meta({ description })`). */
  readonly schema?: Readonly<Record<string, z.ZodType>>;
  /** The report's note on it (method and assumptions), from the config values of the runs that use it. */
  note?(values: ValuesOf): ReportNote;
}

/** The registry's entry named `name`; an unknown name is a programming error (the schema checked it). */
export function lookup<D extends PluginDefinition>(registry: readonly D[], kind: string, name: string): D {
  const d = registry.find((x) => x.name === name);
  if (!d) throw new Error(`unknown ${kind} "${name}": one of ${registry.map((x) => x.name).join(', ')}`);
  return d;
}

/** The names of a registry's entries that satisfy `pred` (e.g. the compressors rho changes), in registry order. */
export function namesWhere<D extends PluginDefinition>(registry: readonly D[], pred: (d: D) => boolean): string[] {
  return registry.filter(pred).map((d) => d.name);
}
