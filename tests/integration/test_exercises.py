"""Every exercise on real labs, for a student's own variant: the starting point fails, the generated solution
passes, two plausible wrong answers fail with a message that names the mistake (never the right value), and
another student's solution fails."""
import io
import re

import pytest

from overlaylab.classroom import exercises, flowkind
from overlaylab.classroom.catalog import exercises as catalog
from overlaylab.classroom.workdir import work
from overlaylab.errors import LabError

ALL = {e.number: e for e in catalog()}
STUDENT, OTHER = "s1001", "s2002"


def _drop_metadata(text, _facts):
    return re.sub(r",metadata=\d+", "", text)


def _swap_vnis(text, facts):
    a, b = facts["pepsi_vni"], facts["coke_vni"]
    return text.replace("->tun_id", "->TUN").replace(f"{a}->TUN", "X->TUN").replace(f"{b}->TUN", f"{a}->TUN") \
        .replace("X->TUN", f"{b}->TUN").replace("->TUN", "->tun_id")


def _answer(key, value):
    return lambda text, _facts: re.sub(rf"(?m)^{key}:.*$", f"{key}: {value}", text)


def _fact_answer(key, fact):
    return lambda text, facts: re.sub(rf"(?m)^{key}:.*$", f"{key}: {facts[fact]}", text)


def _wrong_why(text, _facts):
    right = re.search(r"(?m)^why: (\w)", text).group(1)
    return re.sub(r"(?m)^why:.*$", f"why: {'b' if right == 'a' else 'a'}", text)


def _sprite_takes_pepsis_vni(text, facts):
    return re.sub(r"(?m)^(  sprite:\n    vni:) \d+", rf"\1 {facts['pepsi_vni']}", text)


def _coke_removed(text, _facts):
    return re.sub(r"(?ms)^  coke:\n.*?(?=^  sprite:)", "", text)


def _to_table0(text, _facts):
    return text.replace("table=3,", "table=0,")


def _wrong_arp_mac(text, facts):
    return text.replace(facts["m1"], "TMP").replace(facts["m2"], facts["m1"]).replace("TMP", facts["m2"])


def _leak_line_removed(text, facts):
    return "\n".join(line for line in text.splitlines() if not (f"metadata={facts['coke_vni']}" in line
                                                                 and facts["m2"] in line)) + "\n"


def _accept_from_anyone(text, _facts):
    return re.sub(r",tun_src=[\d.]+", "", text)


def _every_tenant_coke(text, facts):
    return text.replace(f"set_field:{facts['pepsi_vni']}->tun_id", f"set_field:{facts['coke_vni']}->tun_id")


def _any_sender(text, _facts):
    return re.sub(r"in_port=\d+,udp", "udp", text)


def _label_one(text, facts):
    vni = facts["pepsi_vni"]
    return text.replace(f"{vni}->mpls_label", "1->mpls_label").replace(f"mpls_label={vni}", "mpls_label=1")


# exercise: ((wrong answer, what the check must say), (another, ...)); a wrong answer edits the solution
WRONG = {
    "01": ((_fact_answer("pepsi_vni", "coke_vni"), "pepsi_vni: that is not the VNI on the wire"),
           (_fact_answer("outer_dst", "h3"), "outer_dst: that is not the outer destination on the wire")),
    "02": ((_sprite_takes_pepsis_vni, "the scenario does not load yet"),
           (_coke_removed, "tenant coke is not as the exercise gave it")),
    "03": ((_drop_metadata, "leak into tenant"), (_swap_vnis, "cannot reach")),
    "04": ((_drop_metadata, "leak into tenant"), (_to_table0, "entry 1 is in table 0: the decapsulation entries")),
    "05": ((_drop_metadata, "ARP answered by the virtual switch"),
           (_wrong_arp_mac, "ARP answered by the virtual switch")),
    "06": ((lambda text, facts: flowkind.start(ALL["06"], ALL["06"].variant(STUDENT)), "leak into tenant"),
           (_leak_line_removed, "coke/web cannot reach coke/app")),
    "07": ((_accept_from_anyone, "which hosts no coke VM, sent a tunnel packet with coke's VNI"),
           (lambda text, facts: flowkind.start(ALL["07"], ALL["07"].variant(STUDENT)),
            "coke/cache cannot reach coke/web")),
    "08": ((_answer("mtu", 1500), "mtu: measured with pings of every size"),
           (_answer("overhead", 36), "overhead: not what the wire shows")),
    "09": ((lambda text, facts: flowkind.start(ALL["09"], ALL["09"].variant(STUDENT)), "leak into tenant"),
           (_every_tenant_coke, "leak into tenant")),
    "10": ((_answer("flat_underlay", 0), "flat_underlay: the same move in flat mode changed another number"),
           (lambda text, facts: _answer("vswitches", f"[{facts['S']}]")(text, facts), "vswitches: not the servers whose virtual switches changed (")),
    "11": ((_answer("paths", 2), "paths: not the number of paths"), (_answer("cores", "[c0]"), "cores: not the cores")),
    "12": ((_answer("coke_spread", "yes"), "coke_spread: the core switches' counters said otherwise"),
           (_wrong_why, "why: ")),
    "13": ((_any_sender, "did not arrive at coke/app alone"), (_label_one, "is not pepsi's virtual network ID")),
}


def checked(item):
    out = io.StringIO()
    return exercises.check(item, out), out.getvalue()


def solution(number, student, tmp_path):
    """The generated solution of a student's variant (question exercises measure it on a lab of its own)."""
    item = work(ALL[number], student, tmp_path / "solutions")
    exercises.reset(item, io.StringIO())
    exercises.solution(item, io.StringIO())
    return item.answer.read_text()


def test_there_are_thirteen_exercises_in_the_lectures_progression():
    stages = [e.spec["stage"] for e in ALL.values()]
    assert len(ALL) >= 13 and list(ALL) == [f"{n:02d}" for n in range(1, len(ALL) + 1)]
    assert stages == sorted(stages, key=("read", "write", "diagnose", "predict", "build").index)
    assert set(WRONG) == set(ALL)


@pytest.mark.parametrize("number", sorted(ALL))
def test_an_exercise_for_one_student(number, tmp_path):
    item = work(ALL[number], STUDENT, tmp_path)
    right, others = solution(number, STUDENT, tmp_path), solution(number, OTHER, tmp_path)
    exercises.start(item, io.StringIO())
    passed, said = checked(item)
    assert not passed and "NOT YET" in said, said

    item.answer.write_text(right)
    passed, said = checked(item)
    assert passed and said.rstrip().endswith("solved"), said

    facts = item.variant.facts
    for wrong, expected in WRONG[number]:
        item.answer.write_text(wrong(right, facts))
        passed, said = checked(item)
        assert not passed and expected in said, said

    item.answer.write_text(others)
    passed, said = checked(item)
    assert not passed, f"{OTHER}'s solution passed for {STUDENT}: {said}"


def test_start_refuses_to_overwrite_and_reset_starts_over(tmp_path):
    item = work(ALL["04"], STUDENT, tmp_path)
    exercises.start(item, io.StringIO())
    item.answer.write_text("table=3,actions=drop\n")
    with pytest.raises(LabError, match="already started"):
        exercises.start(item, io.StringIO())
    exercises.reset(item, io.StringIO())
    assert "table=3,actions=drop" not in item.answer.read_text()
