"""Hostile scenario files: whatever a file holds, loading it gives a scenario or one clean, short,
printable line (found by a fuzzer that fed the loader ~45,000 inputs; each case here once crashed it)."""
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topologies.encap import Encap
from topologies.scenario import MAX_LINE, ScenarioError, load

GOOD = ("fabric: {type: fattree, k: 4}\ntenants:\n  pepsi:\n    vni: 5001\n    encap: vxlan\n    vms:\n"
        "      web: {ip: 192.0.2.2/24, server: p0e0h0}\n      db: {ip: 192.0.2.3/24, server: p2e1h1}\n")
VM = "tenants: {{a: {{vni: 1, vms: {{w: {{ip: {ip}, server: p0e0h0{extra}}}}}}}}}\n"
BOMB = ("tenants: {t: {vni: [&a [lol, lol, lol, lol, lol, lol, lol, lol, lol], "
        + ", ".join(f"&{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdef", "bcdefg", strict=True)) + "]}}\n")


def refusal(path: Path) -> str:
    """Load the file, which must be refused in one clean line, quickly."""
    start = time.monotonic()
    with pytest.raises(ScenarioError) as caught:
        load(path)
    message = str(caught.value)
    assert time.monotonic() - start < 1.0
    assert message.isprintable() and len(message) <= MAX_LINE, message
    return message


def file_with(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "s.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


HOSTILE = {
    "not UTF-8": (b"description: caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 16); save it as UTF-8"),
    "a list as a key": ("? [a]\n: 1\n", "a key must be a name, not a list"),
    "a mapping as a key": ("? {a: 1}\n: 1\n", "a key must be a name, not a dict"),
    "a 1,500-digit k": ("fabric: {k: " + "7" * 1500 + "}\n", "a number of 1500 digits; none here needs more than 40"),
    "a 5,000-digit VNI": ("tenants: {a: {vni: " + "9" * 5000 + "}}\n", "a number of 5000 digits"),
    "500 nested lists": ("[" * 500, "nested too deeply to read"),
    "an alias bomb": (BOMB, "tenants.t.vni: [['lol', 'lol', 'lol', 'lol', ...], [[...], [...], [...], [...], ...], "),
    "a block-scalar MAC with its newline": ("tenants: {a: {vni: 1, vms: {w: {ip: 10.0.0.2/24, server: p0e0h0, "
                                            "mac: \"02:00:00:00:00:01\\n\"}}}}\n", "is not a unicast MAC"),
    "a tenant named with a newline": ('tenants: {"web\\n": {vni: 1}}\n', "tenants.'web\\n': 'web\\n' is not a valid "
                                                                        "tenant name"),
    "a key with NUL": ('tenants: {a: {vni: 1, "x\\0y": 2}}\n', "tenants.a.'x\\x00y': unknown key"),
    "a key with a terminal escape": ('fabric: {"\\e[31mred": 1}\n', "fabric.'\\x1b[31mred': unknown key"),
    "a multicast VM address": (VM.format(ip="224.0.0.5/24", extra=""), "224.0.0.5/24 is a multicast address"),
    "a loopback VM address": (VM.format(ip="127.0.0.2/8", extra=""), "is a loopback address"),
    "a class-E VM address": (VM.format(ip="240.0.0.2/24", extra=""), "is a reserved (class E"),
    "the limited broadcast address": (VM.format(ip="255.255.255.255/32", extra=""), "is a reserved"),
    "the unspecified address": (VM.format(ip="0.0.0.0/32", extra=""), "is the unspecified address"),
    "a /0 prefix": (VM.format(ip="10.0.0.2/0", extra=""), "is a /0 prefix"),
    "an all-zero MAC": (VM.format(ip="10.0.0.2/24", extra=", mac: '00:00:00:00:00:00'"), "is not a unicast MAC"),
    "mac: 0": (VM.format(ip="10.0.0.2/24", extra=", mac: 0"), "tenants.a.vms.w.mac: 0 is not a unicast MAC"),
    "mac: false": (VM.format(ip="10.0.0.2/24", extra=", mac: false"), "tenants.a.vms.w.mac: False is not"),
    "an empty mac": (VM.format(ip="10.0.0.2/24", extra=", mac: ''"), "tenants.a.vms.w.mac: '' is not"),
    "12:30 as a tenant name": ("tenants: {12:30: {vni: 1}}\n", "tenants.'12:30': '12:30' is not a valid tenant name"),
    "an empty file": ("", "the file is empty (or only comments, or null)"),
    "comments only": ("# nothing here\n", "the file is empty"),
    "null": ("null\n", "the file is empty"),
    "a description that is not text": ("description: [1, 2]\n", "description: [1, 2] is not text"),
    "a description with a terminal escape": ('description: "\\e[2J\\e[31mhacked"\n', "holds control characters"),
    "a VM MAC of the fabric's (p0e0h0's)": (VM.format(ip="10.0.0.2/24", extra=", mac: '02:00:0a:00:00:02'"),
                                           "tenants.a.vms.w.mac: 02:00:0a:00:00:02 is in the fabric's own 02:00:0a"),
    "!!int x": ("fabric: {k: !!int x}\n", "s.yaml:1:13: the tag !!int is not used here; write the plain value"),
    "!!float ''": ("fabric: {k: !!float ''}\n", "the tag !!float is not used here"),
    "!!bool maybe": ("fabric: {k: !!bool maybe}\n", "the tag !!bool is not used here"),
    "!!timestamp foo": ("description: !!timestamp foo\n", "the tag !!timestamp is not used here"),
    "!!map x": ("fabric: !!map x\n", "the tag !!map is not used here"),
    "!!set [a]": ("fabric: !!set [a]\n", "the tag !!set is not used here"),
    "a python tag": ("fabric: !!python/object/apply:os.system [id]\n", "the tag !!python/object/apply:os.system"),
    "a local tag": ("tenants: !mine {}\n", "the tag !mine is not used here"),
    "an anchor merged into itself 26 times": (
        "x0: &b0 {a: 1}\n" + "".join(f"x{n}: &b{n} {{<<: [*b{n - 1}, *b{n - 1}]}}\n" for n in range(1, 26)),
        "s.yaml: x0: unknown key"),
}


@pytest.mark.parametrize("content,expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_each_hostile_file_gets_one_clean_line(tmp_path, content, expected):
    assert expected in refusal(file_with(tmp_path, content))


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as f:
        f.truncate(50 << 20)
    assert "52428800 bytes is too large for a .yaml scenario" in refusal(path)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "directory"])
def test_what_is_not_a_regular_file_is_refused_without_reading_it(tmp_path, special):
    path = {"/dev/zero": Path("/dev/zero"), "directory": tmp_path}.get(special, tmp_path / "fifo")
    if special == "fifo":
        os.mkfifo(path)  # reading it would block forever
    assert "not a regular file" in refusal(path)


def test_yaml_1_1_guesses_do_not_happen(tmp_path):
    """An unquoted MAC stays a MAC (YAML 1.1 read 41135085296), `yes` stays a name (it read True)."""
    text = "tenants:\n  yes:\n    vni: 1\n    vms:\n      w: {ip: 10.0.0.2/24, server: p0e0h0, mac: 52:54:00:12:34:56}\n"
    scenario = load(file_with(tmp_path, text))
    assert scenario.tenants[0].name == "yes" and scenario.vms[0].mac == "52:54:00:12:34:56"


def test_merge_keys_are_supported_and_written_keys_win(tmp_path):
    text = ("tenants:\n  a: &base {vni: 1, encap: gre}\n  b:\n    <<: *base\n    vni: 2\n")
    a, b = load(file_with(tmp_path, text)).tenants
    assert (a.vni, a.encap, b.vni, b.encap) == (1, Encap.GRE, 2, Encap.GRE)


def test_a_key_merged_in_twice_keeps_its_first_place_and_last_value(tmp_path):
    text = ("tenants:\n  a: &a {vni: 1, encap: gre}\n  b: &b {encap: geneve, vni: 2}\n"
            "  c: {<<: [*b, *a, *b], vni: 3}\n")
    c = load(file_with(tmp_path, text)).tenants[2]
    assert (c.vni, c.encap) == (3, Encap.GENEVE)  # the first mapping listed wins, as YAML says


KEYS = ["fabric", "type", "k", "tenants", "vni", "encap", "vms", "ip", "server", "mac", "vtep", "description"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 30), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["p0e0h0", "vxlan", "10.0.0.2/24", "gre", "kernel"]))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                                                 max_size=4)), max_leaves=20)


def mutated(seed: int, cuts: list[tuple[int, str]]) -> str:
    text = GOOD
    for at, piece in cuts:
        at %= len(text) + 1
        text = text[:at] + piece + text[at + seed % 3:]
    return text


def loads_or_refuses_cleanly(content: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        start = time.monotonic()
        try:
            load(path)
        except ScenarioError as exc:
            message = str(exc)
            assert message.isprintable() and len(message) <= MAX_LINE, message
        assert time.monotonic() - start < 1.0


FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text_and_bytes(content):
    loads_or_refuses_cleanly(content)


@FUZZ
@given(st.integers(0, 2), st.lists(st.tuples(st.integers(0, 400), st.text(max_size=6)), max_size=4))
def test_mutations_of_a_good_scenario(seed, cuts):
    loads_or_refuses_cleanly(mutated(seed, cuts))


@FUZZ
@given(st.sampled_from(["!!int", "!!float", "!!bool", "!!str", "!!null", "!!timestamp", "!!map", "!!seq", "!!set",
                        "!!omap", "!!pairs", "!!binary", "!", "!x", "!!merge", "!!value"]),
       st.sampled_from(["x", "''", "maybe", "[a]", "{a: 1}", "1", "-", "foo", "2001-12-14"]),
       st.sampled_from(["fabric: {{k: {}}}", "fabric: {}", "tenants: {{a: {{vni: {}}}}}", "description: {}", "{}"]))
def test_any_tag_anywhere(tag, value, where):
    loads_or_refuses_cleanly(where.format(f"{tag} {value}") + "\n")


@FUZZ
@given(documents)
def test_random_documents_of_scenario_keys(document):
    import yaml
    loads_or_refuses_cleanly(yaml.safe_dump(document, allow_unicode=True))
