import type { Metadata } from 'next';
import Link from 'next/link';
import { BuildHistory } from './build-history';

export const metadata: Metadata = { title: 'Builds' };

export default function BuildsPage() {
  return (
    <>
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h1>Your builds</h1>
        <Link className="button primary" href="/builds/new">
          New build
        </Link>
      </div>
      <BuildHistory />
    </>
  );
}
