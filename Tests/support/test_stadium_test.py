#!/usr/bin/env python3
"""The support module's pure parts, without sockets or processes: frames and /metrics text.

    python3 Tests/support/test_stadium_test.py
"""

import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stadium_test  # noqa: E402  (the module beside this file)


def server_frame(payload, opcode=1, rsv1=False):
    """An unmasked frame as the gateway writes it."""
    first = 0x80 | (0x40 if rsv1 else 0) | opcode
    if len(payload) < 126:
        return struct.pack("!BB", first, len(payload)) + payload
    if len(payload) < 65536:
        return struct.pack("!BBH", first, 126, len(payload)) + payload
    return struct.pack("!BBQ", first, 127, len(payload)) + payload


def unmask(frame):
    """(first byte, payload) of a masked client frame."""
    length, offset = frame[1] & 0x7F, 2
    if length == 126:
        length, offset = struct.unpack("!H", frame[2:4])[0], 4
    elif length == 127:
        length, offset = struct.unpack("!Q", frame[2:10])[0], 10
    mask, body = frame[offset:offset + 4], frame[offset + 4:]
    assert len(body) == length
    return frame[0], bytes(byte ^ mask[i % 4] for i, byte in enumerate(body))


class FrameTests(unittest.TestCase):
    def test_client_frames_carry_their_payload_masked_at_every_length_form(self):
        for size in (0, 125, 126, 65535, 65536):
            payload = bytes(i % 251 for i in range(size))
            frame = stadium_test.client_frame(payload)
            self.assertTrue(frame[1] & 0x80, "the mask bit")
            first, body = unmask(frame)
            self.assertEqual((first, body), (0x81, payload))

    def test_client_frame_sets_rsv1_and_the_opcode(self):
        first, _ = unmask(stadium_test.client_frame(b"x", opcode=8, rsv1=True))
        self.assertEqual(first, 0x80 | 0x40 | 8)

    def test_read_frames_takes_whole_frames_and_leaves_the_rest(self):
        whole = server_frame(b"a" * 200) + server_frame(b"bye", opcode=8, rsv1=True) + server_frame(b"c" * 70000)
        for cut in (0, 1, 3, 203, 204, 208, len(whole) - 1, len(whole)):
            frames, rest = stadium_test.read_frames(whole[:cut])
            taken = sum(len(server_frame(payload, opcode, rsv1)) for opcode, payload, rsv1 in frames)
            self.assertEqual(taken + len(rest), cut)
            self.assertEqual(rest, whole[taken:cut])
        frames, rest = stadium_test.read_frames(whole)
        self.assertEqual(frames, [(1, b"a" * 200, False), (8, b"bye", True), (1, b"c" * 70000, False)])
        self.assertEqual(rest, b"")

    def test_close_code_reads_the_code_or_says_none_came(self):
        self.assertEqual(stadium_test.close_code(struct.pack("!H", 1008) + b"slow"), 1008)
        self.assertEqual(stadium_test.close_code(b""), 1005)


class MetricsTests(unittest.TestCase):
    def test_series_keep_their_labels_and_comments_are_skipped(self):
        text = ("# HELP stadium_connections open\n# TYPE stadium_connections gauge\nstadium_connections 3\n"
                'stadium_errors_total{kind="slow_consumer"} 1\nstadium_bytes_sent_total 1.5e+06\n')
        self.assertEqual(stadium_test.parse_metrics(text), {
            "stadium_connections": 3.0, 'stadium_errors_total{kind="slow_consumer"}': 1.0,
            "stadium_bytes_sent_total": 1.5e6})


class WaitTests(unittest.TestCase):
    def test_wait_until_returns_the_first_truthy_value(self):
        values = iter([None, 0, "ready"])
        self.assertEqual(stadium_test.wait_until("a value", 5, lambda: next(values), interval=0), "ready")

    def test_wait_until_names_what_it_waited_for(self):
        with self.assertRaisesRegex(stadium_test.Failure, "waiting for nothing at all"):
            stadium_test.wait_until("nothing at all", 0, lambda: None, interval=0)


if __name__ == "__main__":
    unittest.main()
