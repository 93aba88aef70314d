"""A project written for release 4.1.0 of the existing package, kept as a fixture: its settings,
views, admin, template and its own test suite (``project_tests.py``, run in its own pytest by
tests/migrations/test_release_41_project.py) use only what 4.1.0 documents, written the way a
4.1 project writes them. Nothing here may be adapted to our package: if it fails on ours, ours
is what must change."""
