import { z } from 'zod';
import type { Target } from '@aegis/protocol';
import { EspFormatError, LED_BOARDS, PROJECT_NAME_PATTERN, TEMPLATE_NAMES, renderProjectTemplate } from '@aegis/esp';
import { EspctlError } from '../errors.js';

/** The templates live in libs/esp (one set, shared with the dashboard); these are espctl's argument schemas. */
export const TemplateName = z.enum(TEMPLATE_NAMES);
export type TemplateName = z.infer<typeof TemplateName>;

/** An LED board for the blink template (its GPIO goes to sdkconfig.defaults.<target>). */
export const BoardId = z.enum(LED_BOARDS.map((b) => b.id) as [string, ...string[]]);

/** Project and component names end up in file names, CMake and C identifiers. */
export const ProjectName = z
  .string()
  .regex(PROJECT_NAME_PATTERN, 'a name starts with a letter and has only letters, digits and "_" (max 48)');

/** The files of a new project, keyed by relative POSIX path. */
export function renderTemplate(
  template: TemplateName,
  name: string,
  target?: Target,
  board?: string,
): Record<string, string> {
  try {
    return renderProjectTemplate(template, { name, ...(target ? { target } : {}), ...(board ? { board } : {}) });
  } catch (e) {
    // A board for another chip, a board on a template without an LED: the user's choice, said as libs/esp says it.
    if (e instanceof EspFormatError) throw new EspctlError('invalid_template_options', e.message);
    throw e;
  }
}

/** The files of a new component under `components/<name>/`. */
export function renderComponent(name: string): Record<string, string> {
  const guard = `${name.toUpperCase()}_H`;
  return {
    [`components/${name}/CMakeLists.txt`]: `idf_component_register(SRCS "${name}.c"\n                       INCLUDE_DIRS "include")\n`,
    [`components/${name}/include/${name}.h`]: `#ifndef ${guard}\n#define ${guard}\n\n/** Returns 1; replace with the component's API. */\nint ${name}_init(void);\n\n#endif /* ${guard} */\n`,
    [`components/${name}/${name}.c`]: `#include "${name}.h"\n\nint ${name}_init(void)\n{\n    return 1;\n}\n`,
  };
}
