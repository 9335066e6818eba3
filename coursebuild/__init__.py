"""The course's build tools, for maintainers: nothing here is imported by a lesson or exercise.

Each module is a command, a console script that `make setup` installs into .venv:

- `course-build-detector` (`build_detector`): train and export chapter 09's digit detector;
  `make detector` rebuilds the committed one.
- `course-train` (`train`): train chapter 05's reference CNN; `make reference-models`.
- `course-benchmark-models` (`benchmark_models`): its accuracy and training time;
  `make benchmark-models`.
- `course-students` (`students`): the student notebooks from `solutions/`; `make students`.
- `course-mutants` (`mutants`, operators in `mutations`): the share of mutated solutions the
  tests catch, per graded part; `make mutants CH=01-kernels`.

`lesson_cache` is no console script: `make book` runs it (`python -m coursebuild.lesson_cache`)
to execute the lessons a few at a time into Jupyter Book's cache before the build.

Build tools may import `helpers` and `grader`; `helpers` imports neither.
"""
