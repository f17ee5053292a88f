import { notFound } from 'next/navigation';
import { LogViewHarness } from '@/components/build/log-view-harness';

// Read at request time: the page exists only when the server was started for the browser tests.
export const dynamic = 'force-dynamic';

/**
 * The live log (LogView and DiagnosticsList, fed through the same LogLines and incremental parser as a build) driven
 * by a fake stream from the test, without a machine. Off unless AEGIS_WEB_TEST_PAGES=1: a 404 in production.
 */
export default function LogViewTestPage() {
  if (process.env.AEGIS_WEB_TEST_PAGES !== '1') notFound();
  return (
    <main id="main">
      <LogViewHarness />
    </main>
  );
}
