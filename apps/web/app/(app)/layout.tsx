import Link from 'next/link';
import { redirect } from 'next/navigation';
import type { ReactNode } from 'react';
import { readSession } from '@/server/session';
import { Nav } from '@/components/nav';
import { SignOutButton } from '@/components/sign-out-button';
import { HandoffBanner } from '@/components/flash/handoff-banner';

export const dynamic = 'force-dynamic';

export default async function AppLayout({ children }: { children: ReactNode }) {
  const session = await readSession();
  if (!session) redirect('/signin');
  return (
    <>
      <header className="topbar">
        <Link className="brand" href="/builds">
          <span className="brand-mark" aria-hidden="true" />
          Aegis
        </Link>
        <Nav />
        <div className="user">
          <span data-testid="user-name">
            {session.name}
            {session.isAdmin ? ' (admin)' : ''}
          </span>
          <SignOutButton />
        </div>
      </header>
      <HandoffBanner />
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
