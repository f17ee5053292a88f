import type { Metadata } from 'next';
import { MachinesTable } from './machines-table';

export const metadata: Metadata = { title: 'Machines' };

export default function MachinesPage() {
  return (
    <>
      <h1>Build machines</h1>
      <MachinesTable />
    </>
  );
}
