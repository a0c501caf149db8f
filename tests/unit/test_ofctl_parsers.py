"""Reading ovs-ofctl's output (samples captured from Open vSwitch 3.1 on a lecture lab): flows, groups,
bucket counters and diff-flows, each against what the compiler renders."""
from controller.flows import ofctl_group
from controller.underlay import compile_underlay
from overlaylab.runtime.tables import parse_bucket_packets, parse_diff, parse_flows, parse_groups
from topologies.fattree import FatTree

FLOWS = """\
 priority=100,ip,in_port=1,nw_src=10.0.0.2 actions=goto_table:1
 priority=0 actions=drop
 table=1, priority=200,ip,nw_dst=10.0.0.2 actions=dec_ttl,set_field:02:00:0a:00:00:01->eth_src,\
set_field:02:00:0a:00:00:02->eth_dst,output:1

 table=1, priority=10,ip actions=dec_ttl,group:1
"""
FLOWS_WITH_HEADER = "OFPST_FLOW reply (OF1.3) (xid=0x2):\n" + FLOWS
GROUPS = """\
OFPST_GROUP_DESC reply (OF1.3) (xid=0x2):
 group_id=1,type=select,bucket=watch_port:3,actions=output:3,bucket=watch_port:4,actions=output:4
"""
GROUPS_OF15 = """\
OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):
 group_id=1,type=select,bucket=bucket_id:0,watch_port:3,actions=output:3,bucket=bucket_id:1,watch_port:4,\
actions=output:4
"""
GROUP_STATS = """\
OFPST_GROUP reply (OF1.3) (xid=0x6):
 group_id=1,duration=12.765s,ref_count=1,packet_count=57,byte_count=6042,bucket0:packet_count=20,\
byte_count=2120,bucket1:packet_count=37,byte_count=3922
"""
DIFF = """\
-table=2 priority=200,metadata=0x1389,dl_dst=02:00:13:8a:02:02 actions=output:2
+table=3 priority=100,metadata=0x138a,dl_dst=02:00:13:8a:02:02 actions=output:2
+table=3 priority=100,metadata=0x138a,dl_dst=02:00:13:8a:02:03 actions=output:3
"""


def test_flows_are_one_line_each_without_header_or_blanks():
    assert parse_flows(FLOWS) == parse_flows(FLOWS_WITH_HEADER)
    flows = parse_flows(FLOWS_WITH_HEADER)
    assert len(flows) == 4 and flows[0] == "priority=100,ip,in_port=1,nw_src=10.0.0.2 actions=goto_table:1"
    assert flows[-1] == "table=1, priority=10,ip actions=dec_ttl,group:1"
    assert parse_flows("") == []


def test_groups_read_as_the_compiler_writes_them_in_either_version():
    (group,) = compile_underlay(FatTree(4))["p0e0"].groups
    assert parse_groups(GROUPS) == parse_groups(GROUPS_OF15) == {ofctl_group(group)}
    assert parse_groups("OFPST_GROUP_DESC reply (OF1.3) (xid=0x2):\n") == set()


def test_bucket_counters_come_in_bucket_order_and_skip_the_groups_total():
    assert parse_bucket_packets(GROUP_STATS) == [20, 37]
    assert parse_bucket_packets("") == []


def test_diff_counts_flows_the_switch_lacks_and_flows_it_should_not_have():
    assert parse_diff(DIFF) == (2, 1)
    assert parse_diff("") == (0, 0)


DUMP = """\
OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0x0, duration=0.271s, table=0, n_packets=1, n_bytes=98, priority=100,ip,in_port=1,dl_src=02:00:13:89:02:02,\
nw_src=192.0.2.2 actions=write_metadata:0x1389,goto_table:2
 cookie=0x0, duration=0.272s, table=0, n_packets=7, n_bytes=686, priority=100,tun_id=0x1389,tun_src=10.0.0.3,\
in_port=100 actions=write_metadata:0x1389,goto_table:3
 cookie=0x0, duration=0.272s, table=2, n_packets=3, n_bytes=0, priority=100,metadata=0x1389,dl_dst=02:00:13:89:02:03 \
actions=set_field:0x1389->tun_id,set_field:10.0.0.3->tun_dst,output:100
 cookie=0x0, duration=0.272s, table=3, n_packets=0, n_bytes=0, priority=0 actions=drop
"""


def test_live_counters_are_found_for_the_compiled_flows_they_belong_to():
    from controller.flows import ofctl_match
    from controller.overlay import compile_overlay
    from overlaylab.runtime.tables import flow_key, parse_counters
    from topologies.scenario import load
    counted = parse_counters(DUMP)
    assert len(counted) == 4
    compiled = compile_overlay(load())["p0e0h0/br-int"].flows
    found = {f.note: counted[flow_key(ofctl_match(f))] for f in compiled if flow_key(ofctl_match(f)) in counted}
    assert found == {"from pepsi/web with its own MAC and IP": 1, "vxlan VNI 5001 (pepsi) from p0e0h1": 7,
                     "to pepsi/db on p0e0h1: vxlan VNI 5001 to 10.0.0.3": 3,
                     "no local VM of this tenant has that MAC: drop": 0}


def test_meters_read_as_ovs_prints_them_one_over_two_lines():
    from overlaylab.runtime.tables import parse_meters
    dump = ("OFPST_METER_CONFIG reply (OF1.3) (xid=0x2):\nmeter=1 pktps burst bands=\ntype=drop rate=100 "
            "burst_size=100\n\nmeter=2 pktps burst bands=\ntype=drop rate=50 burst_size=60\n")
    assert parse_meters(dump) == {(1, 100, 100), (2, 50, 60)}
