import type { Metadata } from 'next';
import { NewProjectForm } from '@/components/projects/new-project-form';
import { ProjectList } from '@/components/projects/project-list';

export const metadata: Metadata = { title: 'Projects' };

export default function ProjectsPage() {
  return (
    <>
      <h1>Projects</h1>
      <ProjectList />
      <NewProjectForm />
    </>
  );
}
