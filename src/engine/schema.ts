/** zod building blocks of the config schema, shared by config.ts and the plug-ins' own config fields. */
import { z } from 'zod';

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number({ error: 'must be a number' })
    .int({ error: `must be an integer >= ${min}` })
    .min(min, { error: `must be an integer >= ${min}` })
    .max(max, { error: `must be an integer <= ${max}` });
export const positive = (what = 'a number > 0') =>
  z.number({ error: 'must be a number' }).gt(0, { error: `must be ${what}` }).refine(Number.isFinite, { error: 'must be finite' });
export const finite = () => z.number({ error: 'must be a number' }).refine(Number.isFinite, { error: 'must be finite' });
/** A physical quantity in [min, max]: the ranges keep every simulated rate and time finite (docs/config.md). */
export const within = (min: number, max: number) => z.number({ error: 'must be a number' })
  .min(min, { error: `must be in [${min}, ${max}]` }).max(max, { error: `must be in [${min}, ${max}]` });
export const str = () => z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });
