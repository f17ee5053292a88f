import { z } from 'zod';
import type { ErrorBody } from '@aegis/protocol';
import type { ProjectConfig } from '../../config/project-config.js';
import { toErrorBody } from '../../errors.js';
import { defaultVersion } from '../../store/store-catalog.js';
import type { EspctlContext } from '../context.js';

export const doctorShape = {
  status: z.enum(['ok', 'warn', 'error']),
  mode: z.enum(['plan-only', 'remote']),
  checks: z.array(
    z.object({ name: z.string(), status: z.enum(['ok', 'warn', 'error', 'skipped']), detail: z.string() }),
  ),
  errors: z.array(z.object({ code: z.string(), message: z.string() })),
};
export type DoctorResult = z.infer<z.ZodObject<typeof doctorShape>>;
type Check = DoctorResult['checks'][number];

/** Allowed clock difference with the control API before grants (5–30 s) start failing. */
export const MAX_CLOCK_SKEW_MS = 2_000;

export async function runDoctor(
  ctx: EspctlContext,
  loadProject: () => Promise<
    { ok: true; config: ProjectConfig; label: string } | { ok: false; error: ErrorBody; label: string }
  >,
): Promise<DoctorResult> {
  const checks: Check[] = [];
  const errors: ErrorBody[] = [];
  const add = (c: Check, err?: ErrorBody): void => {
    checks.push(c);
    if (err) errors.push(err);
  };

  if (ctx.mode === 'plan-only' || !ctx.probeControl) {
    const why = `plan-only mode: ${ctx.modeReason}`;
    add({ name: 'control_plane_reachable', status: 'skipped', detail: why });
    add({ name: 'key_accepted', status: 'skipped', detail: why });
    add({ name: 'clock_skew', status: 'skipped', detail: why });
  } else {
    try {
      const p = await ctx.probeControl();
      add(
        { name: 'control_plane_reachable', status: p.reachable ? 'ok' : 'error', detail: p.detail },
        p.reachable ? undefined : { code: 'control_unreachable', message: p.detail },
      );
      const keyOk = p.keyAccepted === true;
      if (!p.reachable) {
        add({ name: 'key_accepted', status: 'skipped', detail: 'The control API is not reachable.' });
        add({ name: 'clock_skew', status: 'skipped', detail: 'The control API is not reachable.' });
      } else {
        add(
          {
            name: 'key_accepted',
            status: keyOk ? 'ok' : 'error',
            detail: keyOk ? 'The API accepted the key.' : 'The API refused the key (or could not be asked).',
          },
          keyOk
            ? undefined
            : {
                code: 'key_rejected',
                message: 'The control API did not accept the key; run espctl login with a valid key.',
              },
        );
        if (p.clockSkewMs === undefined)
          add({ name: 'clock_skew', status: 'warn', detail: 'The API sent no Date header.' });
        else {
          const ok = Math.abs(p.clockSkewMs) <= MAX_CLOCK_SKEW_MS;
          add(
            {
              name: 'clock_skew',
              status: ok ? 'ok' : 'error',
              detail: `This clock differs from the API by ${Math.round(p.clockSkewMs)} ms.`,
            },
            ok
              ? undefined
              : {
                  code: 'clock_skew',
                  message: `The clock is off by ${Math.round(p.clockSkewMs / 1000)} s; grants live 5–30 s, so sync the clock (NTP).`,
                },
          );
        }
      }
    } catch (err) {
      const b = toErrorBody(err);
      add(
        { name: 'control_plane_reachable', status: 'error', detail: b.message },
        { code: 'control_unreachable', message: b.message },
      );
    }
  }

  const proj = await loadProject();
  let wanted: string | undefined;
  if (proj.ok) {
    wanted = proj.config.idfVersion;
    add({
      name: 'project_parses',
      status: proj.config.hasCMakeLists ? 'ok' : 'warn',
      detail: proj.config.hasCMakeLists
        ? `${proj.label}: configuration is valid.`
        : `${proj.label}: no CMakeLists.txt (not an ESP-IDF project yet).`,
    });
  } else {
    add({ name: 'project_parses', status: 'error', detail: proj.error.message }, proj.error);
  }

  try {
    const catalog = await ctx.catalog();
    const present = catalog.versions.length > 0;
    add({
      name: 'store_present',
      status: present ? 'ok' : 'warn',
      detail: present
        ? `${catalog.versions.length} IDF version(s) from ${catalog.source} ${catalog.location ?? ''}`.trim()
        : 'No toolchain store found (set ESPCTL_STORE_ROOT, or use remote mode).',
    });
    const v = wanted ?? defaultVersion(catalog);
    if (!present) add({ name: 'idf_version_available', status: 'skipped', detail: 'No store to check against.' });
    else if (v && catalog.versions.some((x) => x.version === v))
      add({ name: 'idf_version_available', status: 'ok', detail: `ESP-IDF ${v} is available.` });
    else
      add(
        { name: 'idf_version_available', status: 'error', detail: `ESP-IDF ${v} is not in the store.` },
        {
          code: 'idf_version_unknown',
          message: `ESP-IDF ${v} is not in the store; pick one of ${catalog.versions.map((x) => x.version).join(', ')}.`,
        },
      );
  } catch (err) {
    const b = toErrorBody(err);
    add({ name: 'store_present', status: 'error', detail: b.message }, b);
  }

  const status = checks.some((c) => c.status === 'error')
    ? 'error'
    : checks.some((c) => c.status === 'warn')
      ? 'warn'
      : 'ok';
  return { status, mode: ctx.mode, checks, errors: errors.map((e) => ({ code: e.code, message: e.message })) };
}
