"""Every exercise fails on its starting point, saying what is missing in words, and passes on its
solution, each on a real lab; a wrong answer is told apart from a missing one."""
import io
import shutil

import pytest

from overlaylab.classroom import exercises

ALL = exercises.exercises()


def checked(exercise, solution=False):
    out = io.StringIO()
    return exercises.check(exercise, solution, out), out.getvalue()


def test_there_are_five_exercises_each_with_a_readme_and_a_solution():
    assert [e.number for e in ALL] == ["01", "02", "03", "04", "05"]
    for e in ALL:
        assert (e.folder / "README.md").is_file() and e.file(e.spec["answer"], True).is_file()


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.folder.name)
def test_the_solution_passes(exercise):
    passed, said = checked(exercise, solution=True)
    assert passed, said
    assert "NOT YET" not in said and said.rstrip().endswith("solved")


@pytest.mark.parametrize("exercise, expected", [
    (ALL[0], "decap.flows has no flow entries yet"),
    (ALL[1], "tenants.sprite.vni: missing: every tenant needs a virtual network ID of its own"),
    (ALL[2], "coke/web reaches pepsi/cache (icmp/udp/tcp): tenant coke's packets leak into tenant pepsi"),
    (ALL[3], "nothing answered in 04-migration/answers.yaml yet"),
    (ALL[4], "nothing answered in 05-ecmp-path/answers.yaml yet"),
], ids=lambda x: getattr(x, "name", "")[:2])
def test_the_starting_point_fails_and_says_why(exercise, expected):
    passed, said = checked(exercise)
    assert not passed and expected in said, said


def test_a_wrong_decapsulation_entry_is_named_by_the_pairs_it_breaks(tmp_path):
    folder = tmp_path / "01-decapsulation"
    shutil.copytree(ALL[0].folder, folder)
    (folder / "decap.flows").write_text(  # coke/web's entry sends to pepsi/web's port
        "table=3,priority=100,metadata=5001,dl_dst=02:00:13:89:02:02,actions=output:1\n"
        "table=3,priority=100,metadata=5002,dl_dst=02:00:13:8a:02:02,actions=output:1\n")
    passed, said = checked(exercises.Exercise(folder, ALL[0].spec))
    assert not passed
    assert "coke/db cannot reach coke/web (icmp/udp/tcp lost, and reached pepsi/web instead)" in said
    (folder / "decap.flows").write_text("table=3,priority=100,dl_dst=02:00:13:89:02:02,actions=output:1\n")
    passed, said = checked(exercises.Exercise(folder, ALL[0].spec))
    assert not passed and "entry 1 does not match metadata" in said
