"""`overlaylab exercise grade DIR`, as an instructor runs it over collected folders: each student's folder
checked on a lab of its own, two at once, a CSV and a table; a folder that cannot be checked is graded
`error` with its reason, and the others are graded all the same."""
import csv

from tests.integration.conftest import leftovers, overlaylab


def test_a_class_is_graded_into_a_csv(tmp_path):
    for student in ("s1", "s2", "s3"):
        assert overlaylab("exercise", "start", "06", "--student", student, "--dir", str(tmp_path)).returncode == 0
    assert overlaylab("exercise", "solution", "06", "--student", "s1", "--dir", str(tmp_path)).returncode == 0
    (tmp_path / "06-isolation-leak-s3" / "hotfix.flows").unlink()
    grades = tmp_path / "grades.csv"
    done = overlaylab("exercise", "grade", str(tmp_path), "--csv", str(grades), "--parallel", "2", timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # not everyone solved it
    rows = {r["student"]: r for r in csv.DictReader(grades.open())}
    assert [rows[s]["verdict"] for s in ("s1", "s2", "s3")] == ["solved", "not solved", "error"]
    assert "leak into tenant" in rows["s2"]["first_problem"] and int(rows["s2"]["failing"]) >= 1
    assert "hotfix.flows: cannot read it" in rows["s3"]["first_problem"]
    assert "grading 3 exercise folders" in done.stdout and "1/3 solved" in done.stdout
    assert leftovers() == []
