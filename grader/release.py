"""`course-grade release`: student versions of chapters, and a zip for the LMS."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat

from grader.course import find_secrets, make_course, use_wal
from grader.course_folder import RELEASE, CourseFolder
from grader.student_notebooks import generate_student_notebook


def release(course: Path, chapters: list[str], zip_path: Path | None = None) -> Path:
    """Generate the student version of each chapter in the course folder and zip them for an LMS.

    Returns the zip's path (default `<course>/release/<chapters>.zip`). Raises if a solution
    or hidden test reached the zip.
    """
    course = make_course(course)
    for chapter in chapters:
        student = generate_student_notebook(chapter, course)
        nbformat.write(student, CourseFolder(course).release(chapter))
    use_wal(course)
    name = chapters[0] if len(chapters) == 1 else "all-chapters"
    zip_path = Path(zip_path or course / RELEASE / f"{name}.zip")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for chapter in chapters:
            folder = course / RELEASE / chapter
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.write(path, path.relative_to(course / RELEASE))
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.namelist():
            found = find_secrets(archive.read(member).decode("utf-8", errors="replace"))
            if found:
                raise RuntimeError(f"{zip_path}:{member} contains {found}: not releasing")
    return zip_path
