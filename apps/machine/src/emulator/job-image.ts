import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FlashBundleManifest, type FlashSize, type Target } from '@aegis/protocol';
import { readBuildInfo } from '../build/build-info.js';
import { artifactsDirOf } from '../workspace/layout.js';
import { EmulatorRefusal } from './flash-image.js';

export interface JobImage {
  target: Target;
  idfVersion: string;
  /** The merged image at offset 0 (artifacts/merged.bin), unpadded. */
  image: Uint8Array;
  /** The flash size the build was configured for (flasher_args → bundle manifest). */
  flashSize?: FlashSize;
}

const NO_FIRMWARE =
  'This job has no successful build to run; build it first (or send a flash image with start {image: "client"}).';

/**
 * The job's last successful build from its artifacts: the machine's own directory beside the workspace, never the
 * workspace itself (see the privilege rule).
 */
export async function readJobImage(workspaceDir: string): Promise<JobImage> {
  const dir = artifactsDirOf(workspaceDir);
  const info = await readBuildInfo(workspaceDir);
  const image = await readFile(path.join(dir, 'merged.bin')).catch(() => undefined);
  if (!info || !image) throw new EmulatorRefusal('no_firmware', NO_FIRMWARE);
  const text = await readFile(path.join(dir, 'bundle/manifest.json'), 'utf8').catch(() => undefined);
  let flashSize: FlashSize | undefined;
  try {
    flashSize = text === undefined ? undefined : FlashBundleManifest.parse(JSON.parse(text)).flash.size;
  } catch {
    // an unreadable manifest leaves the size to the image itself
  }
  return { target: info.target, idfVersion: info.idfVersion, image: new Uint8Array(image), flashSize };
}
