"""The capture agent's messages (probes.agent): what one side writes the other reads back whole, however the
pipe cuts it; and the agent is shipped as its own source, so it imports the standard library alone."""
import ast
import sys

from probes.agent import FRAME_IN, OPEN, SEND, message, messages
from probes.remote import source


def test_messages_come_back_whole_however_the_stream_is_cut():
    sent = [(OPEN, "pepsi/web", b"4242 v0-eth0"), (SEND, "p0e0-eth1", bytes(range(256)) * 6), (FRAME_IN, "x", b"")]
    stream = b"".join(message(*m) for m in sent)
    for cut in (1, 7, 100, len(stream)):
        buffer, got = bytearray(), []
        for start in range(0, len(stream), cut):
            buffer += stream[start:start + cut]
            got += list(messages(buffer))
        assert got == sent and not buffer


def test_the_agent_imports_the_standard_library_only():
    tree = ast.parse(source())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
