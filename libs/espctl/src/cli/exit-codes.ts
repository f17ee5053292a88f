/** espctl's exit codes (documented in README.md). */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Usage: 2,
  Config: 3,
  Auth: 4,
  Network: 5,
  BuildFailed: 6,
  NotFound: 7,
  PlanOnly: 8,
  Device: 9,
  /** `run --emulator --until`: the text did not appear before the time limit (or the emulator ended). */
  EmulatorTimeout: 10,
  /** `run --emulator`: the firmware panicked (Guru Meditation Error, abort()). */
  EmulatorPanic: 11,
  /** `run --emulator`: the firmware kept restarting. */
  EmulatorRebootLoop: 12,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Map an error code to an exit code. */
export function exitCodeFor(code: string): ExitCode {
  if (code === 'invalid_input' || code === 'usage') return ExitCode.Usage;
  if (
    code.startsWith('config_') ||
    code === 'path_invalid' ||
    code === 'project_exists' ||
    code === 'component_exists' ||
    code === 'not_a_project' ||
    code === 'idf_version_unknown'
  )
    return ExitCode.Config;
  if (code === 'not_logged_in' || code === 'key_rejected' || code === 'insecure_url') return ExitCode.Auth;
  if (
    code === 'control_unreachable' ||
    code === 'api_unreachable' ||
    code === 'control_error' ||
    code.startsWith('network')
  )
    return ExitCode.Network;
  if (code === 'build_failed' || code === 'build_not_succeeded') return ExitCode.BuildFailed;
  if (code.endsWith('_not_found')) return ExitCode.NotFound;
  if (code === 'plan_only') return ExitCode.PlanOnly;
  if (code.startsWith('emulator_')) return ExitCode.Device;
  if (
    code.startsWith('serial') ||
    code.startsWith('flash') ||
    code.startsWith('bundle') ||
    code === 'firmware_not_found'
  )
    return ExitCode.Device;
  return ExitCode.Error;
}
