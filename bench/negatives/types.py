"""Types of the null bench: clips (one medium file each) and the negative pairs formed from them.

A :class:`Clip` is one file of a corpus (``bench/negatives/<medium>_corpus.py``). Every pair of clips of
one half is a negative — nothing in one clip is a copy of another — except pairs of clips cut from the
same source (``source_id``), which are formed only when both clips say the content cannot repeat
(``pair_within_source``: disjoint sentences of one speech recording, disjoint windows of one fixed-camera
video, the two disjoint halves of one photo). Music windows of one file are never paired (loops and
choruses repeat: they would be real copies).

Halves: a clip's half is ``bench.common.split_of(clip.original or clip.source_id, seed)``, so every clip
cut from one recording (or derived from one photo, or reading one text) falls in one half, and a pair is
only formed within one half (:func:`bench.negatives.pairs.form_pairs`).

Hard groups: ``group`` names what makes a clip hard to tell from its group mates (``speaker:ljspeech``,
``tts:espeak-ng``, ``composer:macleod``, ``synth:piano-Cmaj-120bpm``, ``slideshow:zoom-in-3s``,
``camera:tmk_chair``); ``kind`` labels such pairs in the reports (``same_speaker``, ``tts_voices``, ...).
A clip may belong to more groups than its main one (``extra_groups``, most specific first, each with
its own kind): a synthetic-speech clip is in ``text:t017`` (one text read by several voices →
``tts_same_text``), ``voice:en+m3`` (one voice reading other texts → ``tts_same_voice``) and
``tts:espeak-ng`` (other voices, other texts → ``tts_voices``). A pair's kind is that of the most
specific group the two clips share, else ``unrelated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.common import split_of
from bench.types import Split

UNRELATED = "unrelated"


@dataclass(frozen=True)
class Clip:
    """One file of a null-bench corpus (fields in the order the corpus modules construct them)."""

    path: Path
    clip_id: str
    #: The recording / photo set / synthesis it was cut from; clips of one source are paired only when
    #: both have ``pair_within_source``.
    source_id: str
    #: The hard group (see the module doc) and the report label of pairs within it.
    group: str
    kind: str
    #: True only for content that cannot repeat within the source (disjoint speech, disjoint windows of
    #: a fixed camera, disjoint halves of a photo).
    pair_within_source: bool = False
    #: The top-level original that decides the half (``""``: the ``source_id``).
    original: str = ""
    #: Further (group, kind) memberships, most specific first, checked before ``group``.
    extra_groups: tuple[tuple[str, str], ...] = ()

    @property
    def top_original(self) -> str:
        return self.original or self.source_id

    def memberships(self) -> tuple[tuple[str, str], ...]:
        """(group, kind) pairs, most specific first; the main group last."""
        return (*self.extra_groups, (self.group, self.kind))


def clip_split(clip: Clip, seed: int) -> Split:
    """The half a clip belongs to (by its top-level original, never by clip)."""
    return split_of(clip.top_original, seed)


@dataclass(frozen=True)
class NullPair:
    """One negative pair: indices into the corpus list, the half, and what makes it hard."""

    a: int
    b: int
    half: Split
    kind: str
    group: str  # the shared group ("" for unrelated pairs)

    @property
    def same_group(self) -> bool:
        return bool(self.group)


def shared_group(a: Clip, b: Clip) -> tuple[str, str] | None:
    """The most specific (group, kind) the two clips share, or ``None``."""
    theirs = {g for g, _ in b.memberships()}
    for g, k in a.memberships():
        if g in theirs:
            return g, k
    return None


def may_pair(a: Clip, b: Clip) -> bool:
    """Whether two clips (of one half) form a negative pair: different sources, or both clips of one
    source with content that cannot repeat."""
    if a.clip_id == b.clip_id or a.path == b.path:
        return False
    if a.source_id == b.source_id:
        return a.pair_within_source and b.pair_within_source
    return True
