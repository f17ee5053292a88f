import { z } from 'zod';

/** One compiler / linker / CMake message found in a build log (`parse_build_errors`). */
export const BuildDiagnostic = z.object({
  /** Path as the tool printed it; '' when the tool named no file. */
  file: z.string(),
  /** 1-based; 0 when the tool gave no line (e.g. an undefined reference without debug info). */
  line: z.number().int().nonnegative(),
  column: z.number().int().positive().optional(),
  severity: z.enum(['error', 'warning', 'note']),
  message: z.string().min(1),
  /** Which tool printed it. */
  tool: z.enum(['compiler', 'linker', 'cmake']).optional(),
});
export type BuildDiagnostic = z.infer<typeof BuildDiagnostic>;
