"""A student's answers file: whatever it holds, it is read or refused in one line (never a traceback)."""
import pytest

from overlaylab.classroom.catalog import text_of
from overlaylab.classroom.questionkind import answers, judge
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


def read(tmp_path, content: bytes) -> dict:
    (tmp_path / "answers.yaml").write_bytes(content)
    return answers(text_of(tmp_path, "answers.yaml"), "answers.yaml")


@pytest.mark.parametrize("content,expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_answers_file_gets_one_line(tmp_path, content, expected):
    with pytest.raises(LabError) as caught:
        read(tmp_path, content)
    message = str(caught.value)
    assert expected in message and message.isprintable() and len(message) < 200, message


def test_a_missing_answers_file_says_how_to_get_it_back(tmp_path):
    with pytest.raises(LabError, match="cannot read it .No such file.*exercise start"):
        text_of(tmp_path, "answers.yaml")


def test_answers_are_read_as_written(tmp_path):
    assert read(tmp_path, b"paths: 4\ncores: [c1, c0]\nwhy: 12:30\n") == {"paths": 4, "cores": ["c1", "c0"],
                                                                          "why": "12:30"}


SET = {"key": "cores", "type": "set", "right": "the cores", "wrong": "not the cores the paths can cross"}
NUMBER = {"key": "mtu", "type": "number", "right": "the MTU", "wrong": "packets are lost", "tolerance": 0}


@pytest.mark.parametrize("question,given,right,ok,said", [
    (SET, ["c2", "c0"], ["c0", "c2"], True, "cores: right"),
    (SET, ["c0"], ["c0", "c2"], False, "cores: not the cores the paths can cross (1 missing, 0 that should not be there)"),
    (NUMBER, 1450, 1450, True, "mtu: right"),
    (NUMBER, 1500, 1450, False, "mtu: packets are lost"),
    (NUMBER, "big", 1450, False, "mtu: 'big' is not a number; packets are lost"),
    (NUMBER, None, 1450, False, "mtu: not answered yet"),
    ({**NUMBER, "type": "yesno"}, "Yes", True, True, "mtu: right"),
    ({**NUMBER, "type": "choice"}, "B)", "b", True, "mtu: right"),
])
def test_a_wrong_answer_is_told_what_is_wrong_never_the_right_value(question, given, right, ok, said):
    verdict = judge(question, given, right)
    assert verdict.ok is ok and verdict.text.startswith(said), verdict.text
    assert ok or str(right) not in verdict.text.replace(str(given), "")
