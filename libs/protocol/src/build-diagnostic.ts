import { z } from 'zod';

/** How bad it is: gcc's `fatal error` stops the compiler; `info` is a hint (component manager HINT:, Kconfig info:). */
export const DiagnosticSeverity = z.enum(['fatal', 'error', 'warning', 'note', 'info']);
export type DiagnosticSeverity = z.infer<typeof DiagnosticSeverity>;

/**
 * The program that printed a diagnostic. 'compiler' and 'linker' are what producers before these names sent
 * (gcc/g++ and ld); they stay valid so an older machine's diagnostics still parse.
 */
export const DiagnosticTool = z.enum([
  'gcc',
  'g++',
  'ld',
  'cmake',
  'ninja',
  'kconfig',
  'component-manager',
  'python',
  'make',
  'idf.py',
  'compiler',
  'linker',
]);
export type DiagnosticTool = z.infer<typeof DiagnosticTool>;

/**
 * One message a build tool printed, found in a build log (`parse_build_errors`). Lenient on purpose: it admits what
 * real tools print (old gcc's column 0, a bare `error:` with no text) so one odd item never fails a whole answer.
 */
export const BuildDiagnostic = z.object({
  /** Path as the tool printed it; '' when the tool named no file. */
  file: z.string(),
  /** 1-based; 0 when the tool gave no line (e.g. an undefined reference without debug info). */
  line: z.number().int().nonnegative(),
  /** 1-based as gcc prints it; 0 when an old gcc printed 0 for "unknown". */
  column: z.number().int().nonnegative().optional(),
  severity: DiagnosticSeverity,
  /** The message as printed (trimmed); may be empty when the tool printed none. */
  message: z.string(),
  /** Which tool printed it. */
  tool: DiagnosticTool.optional(),
  /** 0-based index of the log line where it starts, counting '\n' only (so a caller's own line list matches). */
  log_line: z.number().int().nonnegative().optional(),
  /**
   * A build driver's closing line that repeats a failure reported above it (`ninja: build stopped`, `collect2: …
   * ld returned 1`, `-- Configuring incomplete`, `make: *** […] Error 1`, idf.py's `ninja failed with exit code 1`).
   */
  summary: z.boolean().optional(),
});
export type BuildDiagnostic = z.infer<typeof BuildDiagnostic>;
