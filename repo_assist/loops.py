"""A model that has begun repeating itself: stop reading it.

Small local models fall into loops (the same word, line or lines written again and again until the answer's
token budget runs out); on a CPU that is minutes spent on text nobody reads. An answer is cut once it ends with one
piece of text written back to back many times over: at least six times and a thousand characters in all, so a row
of dashes, a few identical closing lines or a short table stays whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

LONGEST_UNIT = 256  # characters in the piece that repeats
LEAST_REPEATS = 6
LEAST_SPAN = 1000  # characters the repetition covers in all
_CHECK_EVERY = 32  # characters of new text between two looks


def ends_in_loop(text: str) -> bool:
    """Whether ``text`` ends with one piece written back to back at least ``LEAST_REPEATS`` times, covering at
    least ``LEAST_SPAN`` characters."""
    for unit in range(1, LONGEST_UNIT + 1):
        times = max(LEAST_REPEATS, -(-LEAST_SPAN // unit))
        span = unit * times
        if span > len(text):
            continue
        if text[-1] == text[-1 - unit] and text[-span:] == text[-unit:] * times:
            return True
    return False


class LoopGuard:
    """Passes a stream of answer pieces through, and ends it where the answer ends in a loop (``looped`` then
    says so). The source stream is closed either way, so a model server stops generating."""

    def __init__(self, pieces: Iterable[str]) -> None:
        self._pieces = pieces
        self.looped = False

    def __iter__(self) -> Iterator[str]:
        tail = ""
        unread = 0
        try:
            for piece in self._pieces:
                yield piece
                tail = (tail + piece)[-(LONGEST_UNIT * LEAST_REPEATS + LEAST_SPAN):]
                unread += len(piece)
                if unread >= _CHECK_EVERY:
                    unread = 0
                    if ends_in_loop(tail):
                        self.looped = True
                        return
        finally:
            close = getattr(self._pieces, "close", None)
            if close is not None:
                close()
