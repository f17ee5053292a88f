import {
  FlashBundleManifest,
  FlashFreq,
  FlashMode,
  FlashSize,
  IdfVersion,
  PROTOCOL_VERSION,
  Target,
  describeZodError,
} from '@aegis/protocol';
import { isImageValid, readAppImage, type AppImage } from './app-image.js';
import { sha256Hex } from './bytes.js';
import { EspFormatError } from './errors.js';

/** One file `idf.py flash` would write, resolved from build/flasher_args.json. */
export interface FlasherPart {
  /** bootloader, partition-table, app, otadata, or the flasher_args key / file name. */
  name: string;
  offset: number;
  /** Path relative to the build directory, as written in flasher_args.json. */
  path: string;
  encrypted: boolean;
  data: Uint8Array;
}

export interface FlasherArgs {
  flashMode: FlashMode;
  flashFreq: FlashFreq;
  flashSize: FlashSize;
  /** From `extra_esptool_args.chip` (absent in ESP-IDF before 4.x's later releases). */
  chip?: Target;
  entries: { name: string; offset: number; path: string; encrypted: boolean }[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseOffset(raw: unknown, where: string): number {
  const s = typeof raw === 'number' ? String(raw) : raw;
  if (typeof s !== 'string' || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(s.trim()))
    throw new EspFormatError(
      'bad_flasher_args',
      `flasher_args.json: offset '${String(raw)}' of ${where} is not a number.`,
    );
  return Number(s.trim());
}

function canonicalName(key: string): string {
  return key === 'partition_table' ? 'partition-table' : key;
}

function baseName(path: string): string {
  const file = path.split('/').pop() ?? path;
  return file.replace(/\.bin$/i, '') || file;
}

/** Read build/flasher_args.json (object or JSON text). Offsets come only from the file. */
export function parseFlasherArgs(json: unknown): FlasherArgs {
  let obj: unknown = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch {
      throw new EspFormatError('bad_flasher_args', 'flasher_args.json is not valid JSON.');
    }
  }
  if (!isObject(obj)) throw new EspFormatError('bad_flasher_args', 'flasher_args.json must be a JSON object.');
  const settings = obj.flash_settings;
  if (!isObject(settings))
    throw new EspFormatError('bad_flasher_args', 'flasher_args.json has no flash_settings object.');
  const mode = FlashMode.safeParse(settings.flash_mode);
  const freq = FlashFreq.safeParse(settings.flash_freq);
  const size = FlashSize.safeParse(settings.flash_size);
  if (!mode.success || !freq.success || !size.success)
    throw new EspFormatError(
      'bad_flasher_args',
      `flasher_args.json flash_settings are not understood (mode ${String(settings.flash_mode)}, freq ${String(settings.flash_freq)}, size ${String(settings.flash_size)}).`,
    );
  const flashFiles = obj.flash_files;
  if (!isObject(flashFiles) || Object.keys(flashFiles).length === 0)
    throw new EspFormatError('bad_flasher_args', 'flasher_args.json lists no flash_files.');

  // Named entries ({ "app": { "offset", "file", "encrypted" } }) give each file its role.
  const named = Object.entries(obj).filter(
    (e): e is [string, Json] => isObject(e[1]) && typeof e[1].file === 'string' && e[1].offset !== undefined,
  );
  const entries = Object.entries(flashFiles).map(([off, file]) => {
    if (typeof file !== 'string' || file === '')
      throw new EspFormatError('bad_flasher_args', `flasher_args.json: flash_files[${off}] is not a file path.`);
    const offset = parseOffset(off, `flash_files entry ${file}`);
    const role = named.find(([, v]) => v.file === file && parseOffset(v.offset, String(v.file)) === offset);
    return {
      name: role ? canonicalName(role[0]) : baseName(file),
      offset,
      path: file,
      encrypted: role ? String(role[1].encrypted) === 'true' : false,
    };
  });
  entries.sort((a, b) => a.offset - b.offset);
  const extra = obj.extra_esptool_args;
  const chipParse = isObject(extra) ? Target.safeParse(extra.chip) : undefined;
  return {
    flashMode: mode.data,
    flashFreq: freq.data,
    flashSize: size.data,
    chip: chipParse?.success ? chipParse.data : undefined,
    entries,
  };
}

/** Resolve every file of flasher_args.json through `files` (paths relative to the build directory). */
export function flasherArgsToParts(json: unknown, files: (path: string) => Uint8Array | undefined): FlasherPart[] {
  return parseFlasherArgs(json).entries.map((e) => {
    const data = files(e.path);
    if (!data)
      throw new EspFormatError(
        'missing_file',
        `${e.path} (listed in flasher_args.json at offset 0x${e.offset.toString(16)}) is missing.`,
      );
    if (data.length === 0) throw new EspFormatError('missing_file', `${e.path} is empty.`);
    return { ...e, data };
  });
}

export interface BuildBundleInput {
  flasherArgs: unknown;
  /** build/project_description.json (object or text): project name, target, IDF version. */
  projectDescription?: unknown;
  files: (path: string) => Uint8Array | undefined;
  chip?: Target;
  idfVersion?: string;
  project?: string;
  jobId?: string;
  machineId?: string;
  createdAt: Date | string;
}

export interface BuiltBundle {
  manifest: FlashBundleManifest;
  /** Bundle-relative paths (`files/...`) and their bytes, as the manifest lists them. */
  files: { path: string; bytes: Uint8Array }[];
}

function readImagePart(part: FlasherPart): AppImage {
  let image: AppImage;
  try {
    image = readAppImage(part.data);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new EspFormatError('bad_image', `${part.path} is not a valid ESP image: ${msg}`);
  }
  if (!isImageValid(image))
    throw new EspFormatError('bad_image', `${part.path} fails its checksum or SHA-256 check; rebuild it.`);
  return image;
}

function bundlePath(path: string): string {
  const p = path.replace(/^\.\//, '');
  if (p.startsWith('/') || p.includes('\\') || p.split('/').includes('..') || /^[A-Za-z]:/.test(p))
    throw new EspFormatError('bad_path', `flasher_args.json path '${path}' leaves the build directory.`);
  return `files/${p}`;
}

/** Make the flash bundle manifest (unsigned) and its file list from a finished build. */
export function buildBundleManifest(input: BuildBundleInput): BuiltBundle {
  const args = parseFlasherArgs(input.flasherArgs);
  const parts = flasherArgsToParts(input.flasherArgs, input.files);
  let desc: Json = {};
  if (typeof input.projectDescription === 'string') {
    try {
      const parsed: unknown = JSON.parse(input.projectDescription);
      if (isObject(parsed)) desc = parsed;
    } catch {
      throw new EspFormatError('bad_flasher_args', 'project_description.json is not valid JSON.');
    }
  } else if (isObject(input.projectDescription)) desc = input.projectDescription;

  const appPart = parts.find((p) => p.name === 'app');
  const bootPart = parts.find((p) => p.name === 'bootloader');
  const app = appPart ? readImagePart(appPart) : undefined;
  const boot = bootPart ? readImagePart(bootPart) : undefined;

  const descTarget = Target.safeParse(desc.target);
  const chip =
    input.chip ??
    args.chip ??
    (descTarget.success ? descTarget.data : undefined) ??
    app?.header.chip ??
    boot?.header.chip;
  if (!chip)
    throw new EspFormatError(
      'unknown_chip',
      'Cannot tell the chip: not in flasher_args.json, project_description.json or the image header.',
    );
  for (const [what, image] of [
    ['app', app],
    ['bootloader', boot],
  ] as const) {
    if (image && image.header.chip !== chip)
      throw new EspFormatError(
        'bad_image',
        `The ${what} image is built for chip id ${image.header.chipId}, not ${chip}.`,
      );
  }

  // 'detect' means "whatever the board has"; the images carry what the build configured.
  let flashSize = args.flashSize;
  if (flashSize === 'detect' || flashSize === 'keep') flashSize = (boot ?? app)?.header.flashSize ?? flashSize;

  const idfCandidates = [
    input.idfVersion,
    typeof desc.git_revision === 'string' ? desc.git_revision : undefined,
    app?.appDesc?.idfVersion,
  ];
  const idfVersion = idfCandidates.find((v) => v !== undefined && IdfVersion.safeParse(v).success);
  if (!idfVersion)
    throw new EspFormatError(
      'bad_flasher_args',
      'Cannot tell the ESP-IDF version: pass idfVersion or include project_description.json.',
    );
  const project =
    input.project ??
    (typeof desc.project_name === 'string' ? desc.project_name : undefined) ??
    app?.appDesc?.projectName;
  if (!project)
    throw new EspFormatError(
      'bad_flasher_args',
      'Cannot tell the project name: pass project or include project_description.json.',
    );

  const files = parts.map((p) => ({ path: bundlePath(p.path), bytes: p.data }));
  const createdAt = typeof input.createdAt === 'string' ? input.createdAt : input.createdAt.toISOString();
  const candidate = {
    v: PROTOCOL_VERSION,
    project,
    ...(app?.appDesc?.version ? { app_version: app.appDesc.version } : {}),
    chip,
    idf_version: idfVersion,
    flash: { mode: args.flashMode, freq: args.flashFreq, size: flashSize },
    parts: parts.map((p, i) => ({
      name: p.name,
      offset: p.offset,
      size: p.data.length,
      sha256: sha256Hex(p.data),
      file: files[i].path,
    })),
    ...(input.jobId ? { job_id: input.jobId } : {}),
    ...(input.machineId ? { machine_id: input.machineId } : {}),
    created_at: createdAt,
  };
  const parsed = FlashBundleManifest.safeParse(candidate);
  if (!parsed.success)
    throw new EspFormatError('bad_manifest', `The bundle manifest would be invalid: ${describeZodError(parsed.error)}`);
  return { manifest: parsed.data, files };
}

/** The exact bytes written as manifest.json (and signed). */
export function encodeManifest(manifest: FlashBundleManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n');
}
