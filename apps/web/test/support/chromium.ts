import { launchChromium, type LaunchedChromium } from '@aegis/testkit/chromium';

export type Browser = LaunchedChromium;

/** libs/testkit's Chromium (flags from the notes) at the viewport the dashboard's screenshots are taken at. */
export function launchDashboardBrowser(): Promise<Browser> {
  return launchChromium({ viewport: { width: 1280, height: 900 } });
}
