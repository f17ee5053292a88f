import type { ProjectConfig } from '../config/project-config.js';

export interface PlanStep {
  id: string;
  title: string;
  detail: string;
}

export interface BuildPlanInput {
  config: ProjectConfig;
  files: string[];
  projectLabel: string;
  target?: string;
  idfVersion?: string;
  profile?: 'debug' | 'release';
  clean?: boolean;
  /** The store's default IDF version when known (local store), used as the last fallback. */
  storeDefault?: string;
}

export interface BuildPlan {
  project: string;
  target: string;
  target_source: 'argument' | 'espctl-toml' | 'default';
  idf_version: string;
  idf_version_source: 'argument' | 'idf-version-file' | 'espctl-toml' | 'store-default';
  profile: 'debug' | 'release';
  clean: boolean;
  steps: PlanStep[];
  warnings: string[];
}

export const DEFAULT_TARGET = 'esp32c3';

/** What a build would do, step by step, without doing any of it. Pure: no disk, no network. */
export function generateBuildPlan(input: BuildPlanInput): BuildPlan {
  const { config } = input;
  const warnings: string[] = [];
  const target = input.target ?? config.target ?? DEFAULT_TARGET;
  const targetSource = input.target ? 'argument' : config.target ? 'espctl-toml' : 'default';
  const idf = input.idfVersion ?? config.idfVersion;
  const idfSource = input.idfVersion ? 'argument' : (config.idfVersionSource ?? 'store-default');
  const profile = input.profile ?? config.profile ?? 'debug';
  const clean = input.clean ?? false;
  if (!config.hasCMakeLists) warnings.push('No CMakeLists.txt at the project root; idf.py build would fail.');
  if (!input.files.some((f) => f.startsWith('main/'))) warnings.push('No main/ component; ESP-IDF needs one.');
  if (targetSource === 'default')
    warnings.push(`No target set; ${DEFAULT_TARGET} would be used (set [build] target in .espctl.toml).`);
  const idfShown = idf ?? input.storeDefault ?? 'the build machine store default';
  const steps: PlanStep[] = [
    {
      id: 'read-config',
      title: 'Read project configuration',
      detail: `Parse .espctl.toml and .idf-version in ${input.projectLabel} (project "${config.name ?? 'unnamed'}").`,
    },
    {
      id: 'resolve-idf',
      title: 'Resolve IDF version',
      detail: `Use ESP-IDF ${idfShown} (source: ${idfSource}).`,
    },
    {
      id: 'request-grant',
      title: 'Request a build grant',
      detail: `POST /grant/request for target ${target}; the control API picks a machine with ESP-IDF ${idfShown}.`,
    },
    {
      id: 'connect',
      title: 'Connect to the build machine',
      detail: 'Open a WebRTC connection with the espctl and firmware channels.',
    },
    {
      id: 'upload',
      title: 'Upload the project',
      detail: `Send ${input.files.length} files as a tar archive over the espctl channel (sha256-checked).`,
    },
  ];
  if (clean) steps.push({ id: 'fullclean', title: 'Clean', detail: 'Run idf.py fullclean before building.' });
  steps.push(
    {
      id: 'set-target',
      title: 'Set target',
      detail: `Run idf.py set-target ${target} if the build directory targets another chip.`,
    },
    {
      id: 'build',
      title: 'Build',
      detail: `Run idf.py build (${profile} profile) in the sandbox, streaming every log line.`,
    },
    {
      id: 'bundle',
      title: 'Make the flash bundle',
      detail:
        'Write manifest.json with offsets from build/flasher_args.json and sha256 of each image, signed by the machine.',
    },
    {
      id: 'download',
      title: 'Download artifacts',
      detail: 'Fetch firmware over the firmware channel and verify sha256.',
    },
  );
  return {
    project: config.name ?? 'unnamed',
    target,
    target_source: targetSource,
    idf_version: idf ?? input.storeDefault ?? 'store-default',
    idf_version_source: idfSource,
    profile,
    clean,
    steps,
    warnings,
  };
}

/** What a clean would remove. */
export function generateCleanPlan(
  files: string[],
  full: boolean,
): { steps: PlanStep[]; removes: string[]; present: string[] } {
  const removes = full ? ['build/', 'sdkconfig', 'sdkconfig.old', 'managed_components/'] : ['build/'];
  // build/ is never in the uploaded file list, so only the other entries can be checked here.
  const present = removes.filter((r) => files.some((f) => f === r || f.startsWith(r)));
  return {
    removes,
    present,
    steps: [
      {
        id: full ? 'fullclean' : 'clean',
        title: full ? 'Full clean' : 'Clean',
        detail: full
          ? 'Run idf.py fullclean: delete the build directory and the generated sdkconfig, keeping sources.'
          : 'Run idf.py clean: delete build outputs, keep the CMake cache and sdkconfig.',
      },
      { id: 'next-build', title: 'Next build is complete', detail: 'The next build compiles every source again.' },
    ],
  };
}
