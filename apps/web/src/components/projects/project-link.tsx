'use client';
import Link from 'next/link';
import type { ProjectOfBuild } from '@/lib/projects/use-projects';

/** The project a build came from, linked back to it (this browser's projects only; the API knows none). */
export function ProjectLink({ project }: { project: ProjectOfBuild | null }) {
  if (!project) return <span className="muted">—</span>;
  if (!project.exists)
    return (
      <span className="muted" title="This project was deleted from this browser">
        {project.name} (deleted)
      </span>
    );
  return (
    <Link href={`/projects/${project.projectId}`} data-testid="project-link">
      {project.name}
    </Link>
  );
}
