"""Students' variants: the same ID always draws the same one, two IDs draw different ones, each has the shape
the checks rely on (shared MACs, crossed addresses, MACs that do not embed the VNI), and the repository's
own exercise folders are what `exercise reset` generates for the example variant."""
import io

import pytest

from overlaylab.classroom import exercises
from overlaylab.classroom.catalog import exercises as catalog
from overlaylab.classroom.variant import EXAMPLE, check_student, variant
from overlaylab.classroom.workdir import Work, collected, work
from overlaylab.errors import LabError
from topologies.scenario import parse

ALL = catalog()


def test_the_same_id_draws_the_same_variant_and_another_id_another():
    assert variant("04", "s1") == variant("04", "s1")
    others = {str(variant("04", f"s{i}").facts["pepsi_vni"]) for i in range(30)}
    assert len(others) == 30
    assert variant("04", "s1").facts != variant("05", "s1").facts


@pytest.mark.parametrize("student", ["s1", "alice", "x.y-z_1", EXAMPLE])
def test_a_variant_has_the_lectures_shape(student):
    chosen = variant("04", student)
    vms = {vm.label: vm for vm in parse(chosen.scenario).vms}
    assert vms["pepsi/web"].mac == vms["coke/web"].mac and vms["pepsi/web"].ip == vms["coke/app"].ip
    assert vms["pepsi/web"].server == vms["coke/web"].server != vms["pepsi/db"].server
    assert vms["pepsi/web"].server.pod != vms["pepsi/db"].server.pod
    vni = f"{chosen.facts['pepsi_vni']:x}"
    assert not any(vni in vm.mac.replace(":", "") for vm in vms.values())
    hosting = {vm.server.name for vm in vms.values()}
    assert chosen.facts["E"] not in hosting


@pytest.mark.parametrize("student", ["", "-x", "a/b", "a b", "x" * 41])
def test_a_bad_student_id_is_refused_in_one_line(student):
    with pytest.raises(LabError, match="--student"):
        check_student(student)


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.folder.name)
def test_the_repositorys_folder_is_the_example_variant(exercise, tmp_path):
    item = Work(exercise, EXAMPLE, tmp_path)
    exercises.reset(item, io.StringIO())
    for name in ("README.md", "scenario.yaml", exercise.answer):
        assert (tmp_path / name).read_text() == (exercise.folder / name).read_text(), name


def test_grading_finds_each_students_folder_and_refuses_a_renamed_one(tmp_path):
    for student in ("s1", "s2"):
        exercises.start(work(ALL[3], student, tmp_path), io.StringIO())
    assert [(w.student, w.exercise.number) for w in collected(tmp_path)] == [("s1", "04"), ("s2", "04")]
    (tmp_path / "04-decapsulation-s2").rename(tmp_path / "04-decapsulation-s3")
    with pytest.raises(LabError, match="the folder must be 04-decapsulation-s2"):
        collected(tmp_path)


def test_a_students_folder_is_theirs_not_roots(tmp_path, monkeypatch):
    import os
    import pwd
    if os.getuid() != 0:
        pytest.skip("only root can give files away")
    monkeypatch.setenv("SUDO_USER", "nobody")
    item = work(ALL[3], "s1", tmp_path / "class")
    exercises.start(item, io.StringIO())
    nobody = pwd.getpwnam("nobody").pw_uid
    assert {p.stat().st_uid for p in (item.folder.parent, item.folder, item.answer)} == {nobody}
