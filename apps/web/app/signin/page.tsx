import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { readSession } from '@/server/session';
import { SignInForm } from './sign-in-form';

export const metadata: Metadata = { title: 'Sign in' };
export const dynamic = 'force-dynamic';

export default async function SignInPage() {
  if (await readSession()) redirect('/builds');
  return (
    <main id="main" className="signin">
      <div className="panel">
        <h1 className="row">
          <span className="brand-mark" aria-hidden="true" /> Sign in to Aegis
        </h1>
        <p className="muted">
          Paste your user API key. It is checked with the control API and kept only in an encrypted, httpOnly session
          cookie — this page&apos;s scripts never see it again.
        </p>
        <p className="muted" data-testid="admin-key-hint">
          First time? <code>npm start</code> created an admin key and keeps it in <code>.aegis/admin-key</code> in the
          Aegis directory (readable by its owner only).
        </p>
        <SignInForm />
      </div>
    </main>
  );
}
