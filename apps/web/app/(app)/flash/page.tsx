import type { Metadata } from 'next';
import { Suspense } from 'react';
import { FlashPage } from './flash-page';

export const metadata: Metadata = { title: 'Flash' };

export default function Page() {
  return (
    <>
      <h1>Flash a board</h1>
      <Suspense>
        <FlashPage />
      </Suspense>
    </>
  );
}
