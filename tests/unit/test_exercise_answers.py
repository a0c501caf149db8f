"""A student's answers file: whatever it holds, it is read or refused in one line (never a traceback)."""
import pytest

from overlaylab.classroom.exercises import Exercise, _answers
from overlaylab.errors import LabError

HOSTILE = {
    "a 5,000-digit number": (b"paths: " + b"9" * 5000 + b"\n", "a number of 5000 digits"),
    "an explicit tag": (b"paths: !!int x\n", "the tag !!int is not used here"),
    "a python tag": (b"paths: !!python/object/apply:os.system [id]\n", "is not used here"),
    "deep nesting": (b"cores: " + b"[" * 5000 + b"\n", "nested too deeply to read"),
    "not UTF-8": (b"why: caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 8)"),
    "a list": (b"- 1\n- 2\n", "must be `key: value` lines"),
    "broken YAML": (b"paths: [1\n", "is not YAML any more (line 2)"),
    "too large": (b"#" * (65 * 1024), "bytes is too large for an answer"),
}


def exercise(tmp_path, content: bytes) -> Exercise:
    (tmp_path / "answers.yaml").write_bytes(content)
    return Exercise(tmp_path, {"answer": "answers.yaml"})


@pytest.mark.parametrize("content,expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_answers_file_gets_one_line(tmp_path, content, expected):
    with pytest.raises(LabError) as caught:
        _answers(exercise(tmp_path, content), solution=False)
    message = str(caught.value)
    assert expected in message and message.isprintable() and len(message) < 200, message


def test_a_missing_answers_file_says_how_to_get_it_back(tmp_path):
    with pytest.raises(LabError, match="cannot read it .No such file"):
        _answers(Exercise(tmp_path, {"answer": "answers.yaml"}), solution=False)


def test_answers_are_read_as_written(tmp_path):
    answers = _answers(exercise(tmp_path, b"paths: 4\ncores: [c1, c0]\nwhy: 12:30\n"), solution=False)
    assert answers == {"paths": 4, "cores": ["c0", "c1"], "why": "12:30"}
