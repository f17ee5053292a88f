/** espctl's version (kept in step with package.json). */
export const ESPCTL_VERSION = '0.1.0';
