import { EspWebToolsManifest, type FlashBundleManifest } from '@aegis/protocol';
import { CHIPS } from './chips.js';

export interface WebToolsOptions {
  name?: string;
  version?: string;
  /** Prepended to each part's bundle path (e.g. a URL base ending in '/'). */
  pathPrefix?: string;
  newInstallPromptErase?: boolean;
}

/** Export a flash bundle as an ESP Web Tools manifest (`builds[].chipFamily`, `parts[].path/offset`). */
export function toEspWebToolsManifest(manifest: FlashBundleManifest, opts: WebToolsOptions = {}): EspWebToolsManifest {
  const out: EspWebToolsManifest = {
    name: opts.name ?? manifest.project,
    version: opts.version ?? manifest.app_version ?? manifest.idf_version,
    ...(opts.newInstallPromptErase !== undefined ? { new_install_prompt_erase: opts.newInstallPromptErase } : {}),
    builds: [
      {
        chipFamily: CHIPS[manifest.chip].name,
        parts: [...manifest.parts]
          .sort((a, b) => a.offset - b.offset)
          .map((p) => ({ path: `${opts.pathPrefix ?? ''}${p.file}`, offset: p.offset })),
      },
    ],
  };
  return EspWebToolsManifest.parse(out);
}
