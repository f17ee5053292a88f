import { renderProjectTemplate, type TemplateName } from '@aegis/esp';
import type { Target } from '@aegis/protocol';
import type { TarEntry } from '@aegis/esp';

/**
 * The dashboard's starter projects: the one set of ESP-IDF templates in libs/esp (espctl uses the same), as the
 * tar entries the upload takes. Each is named after its template (`project(hello_world)`, main/hello_world.c).
 */
export { TEMPLATES, LED_BOARDS, type TemplateName } from '@aegis/esp';

export function templateFiles(name: TemplateName, target: Target = 'esp32c3', board?: string): TarEntry[] {
  const enc = new TextEncoder();
  return Object.entries(renderProjectTemplate(name, { name, target, ...(board ? { board } : {}) })).map(
    ([path, text]) => ({ path, data: enc.encode(text) }),
  );
}
