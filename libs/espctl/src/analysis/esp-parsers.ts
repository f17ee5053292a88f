/** The parsers live in libs/esp (browser-safe, shared with the dashboard); espctl never keeps a second copy. */
export { parseBuildDiagnostics, parseSizeComponents, parseSizeReport } from '@aegis/esp';
