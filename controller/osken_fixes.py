"""Two decoders of os-ken's OpenFlow 1.5 parser read past the end of what they decode, so replies from
Open vSwitch fail to parse; the controller reads flows and groups back from the switches, so it needs
them right. Importing this module replaces them (os-ken 4.2; both are plain slicing mistakes).

  bucket       properties are read from `offset` to `offset + len` instead of to the bucket's end,
               running into the next bucket (every group description reply fails)
  copy_field   OXM ids are read to `offset + len` past the action's fields, into its padding and the
               next action, and the action forgets its length (every flow holding one fails)
"""
from __future__ import annotations

import struct
from typing import Any

from os_ken.lib import type_desc
from os_ken.ofproto import ofproto_v1_3, oxm_fields
from os_ken.ofproto import ofproto_v1_5 as ofproto
from os_ken.ofproto import ofproto_v1_5_parser as parser


def _bucket(cls: Any, buf: bytes, offset: int) -> Any:
    bucket = cls()
    start = offset
    bucket.len, bucket.action_array_len, bucket.bucket_id = struct.unpack_from(ofproto.OFP_BUCKET_PACK_STR, buf, offset)
    offset += ofproto.OFP_BUCKET_SIZE
    actions = buf[offset:offset + bucket.action_array_len]
    bucket.actions = []
    while actions:
        action = parser.OFPAction.parser(actions, 0)
        bucket.actions.append(action)
        actions = actions[action.len:]
    rest = buf[offset + bucket.action_array_len:start + bucket.len]
    bucket.properties = []
    while rest:
        prop, rest = parser.OFPGroupBucketProp.parse(rest)
        bucket.properties.append(prop)
    return bucket


def _copy_field(cls: Any, buf: bytes, offset: int) -> Any:
    fields = struct.unpack_from(ofproto.OFP_ACTION_COPY_FIELD_PACK_STR, buf, offset)
    type_, len_, n_bits, src_offset, dst_offset = fields
    rest = buf[offset + ofproto.OFP_ACTION_COPY_FIELD_SIZE:offset + len_]
    oxm_ids: list[Any] = []
    while len(oxm_ids) < 2:  # source and destination; what follows is padding
        oxm_id, rest = parser.OFPOxmId.parse(rest)
        oxm_ids.append(oxm_id)
    action = cls(n_bits, src_offset, dst_offset, oxm_ids, type_, len_)
    action.len = len_
    return action


parser.OFPBucket.parser = classmethod(_bucket)
parser.OFPActionCopyField.parser = classmethod(_copy_field)


class _Ericsson(oxm_fields._OxmClass):  # type: ignore[misc]
    """OVS's ERICOXM_OF class (0x1000): the ICMPv6 ND fields a virtual switch's neighbour advertisement
    needs, which os-ken does not know."""

    _class = 0x1000


def _teach_nd_fields() -> None:
    """Let os-ken write OVS's `nd_reserved` (the NA's R/S/O flags) and `nd_options_type` (the option's type,
    source into target link-layer address), in OpenFlow 1.3 and 1.5."""
    for module in (ofproto_v1_3, ofproto):
        if "nd_reserved" not in {f.name for f in module.oxm_types}:
            module.oxm_types += [_Ericsson("nd_reserved", 1, type_desc.Int4),
                                 _Ericsson("nd_options_type", 2, type_desc.Int1)]
            oxm_fields.generate(module.__name__)


_teach_nd_fields()
