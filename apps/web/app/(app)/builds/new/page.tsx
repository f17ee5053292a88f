import type { Metadata } from 'next';
import { NewBuildForm } from './new-build-form';

export const metadata: Metadata = { title: 'New build' };

export default function NewBuildPage() {
  return (
    <>
      <h1>New build</h1>
      <NewBuildForm />
    </>
  );
}
