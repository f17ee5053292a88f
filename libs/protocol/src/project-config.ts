import { z } from 'zod';
import { IdfVersion, Target } from './common.js';

/** `.espctl.toml` at the project root (parsed from TOML, then checked with this schema). */
export const EspctlToml = z
  .object({
    project: z
      .object({ name: z.string().min(1).max(128).optional() })
      .strict()
      .optional(),
    build: z
      .object({
        target: Target.optional(),
        idf_version: IdfVersion.optional(),
        profile: z.enum(['debug', 'release']).optional(),
      })
      .strict()
      .optional(),
    flash: z.object({ port: z.string().optional(), baud: z.number().int().positive().optional() }).strict().optional(),
  })
  .strict();
export type EspctlToml = z.infer<typeof EspctlToml>;
