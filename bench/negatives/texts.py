"""English texts for the null bench's synthetic speech and rendered-text images, with no shared phrases.

Sentences come from the licence texts Debian ships in ``/usr/share/common-licenses`` (package
``base-files``: GPL, Apache-2.0, MPL, Artistic, ...), Python's own ``this`` module (the Zen of Python),
and Harvard-sentence-like templates written here (word lists below), in a seeded order. A text is a run
of sentences of ``min_words``-``max_words`` words; it is accepted only when none of its word trigrams
occurs in any earlier text, so no two texts share a phrase of three words or more. A phrase spoken by
one deterministic synthesiser voice is the same audio every time: two texts sharing "the terms of this
License" would hold a real 1.5 s copy, and the null bench's pairs must be negatives.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from bench.common import rng_for

LICENSES = Path("/usr/share/common-licenses")
_WORD = re.compile(r"[A-Za-z']+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")

ADJECTIVES = (
    "amber bitter brave brisk calm chilly clever copper crisp dusty eager faint gentle glossy golden hollow "
    "humble icy jolly keen lively lonely mellow misty narrow noisy odd pale plain proud quiet rapid rough "
    "rusty salty sharp shiny silent slender smoky soft solemn sour sturdy sudden sunny swift tame tender "
    "tidy timid velvet vivid wary weary wicked wild windy wiry wooden young zealous"
).split()
NOUNS = (
    "anchor apple arrow badge barrel basket beacon bell bench blanket boat bottle bridge bucket cabin "
    "candle canyon carpet castle cellar chair cherry circus cliff clock cloud coin comet compass cottage "
    "crown dragon drum eagle engine feather fence fiddle forest fountain garden glove harbor helmet hill "
    "island jacket kettle ladder lantern lemon library meadow mirror mountain needle orchard oven parrot "
    "pebble pencil pepper piano pillow pocket puddle quilt rabbit ribbon river rocket saddle sail scarf "
    "shovel spider spoon stable statue stone table thimble tiger tower trumpet tunnel turtle valley violin "
    "wagon wallet whistle window wizard"
).split()
VERBS = (
    "admired borrowed buried carried chased cleaned crossed dropped painted fixed folded followed "
    "gathered guarded hid lifted mended noticed opened packed pulled pushed raised repaired rolled "
    "sketched sold spotted stacked tossed traded watched weighed wrapped"
).split()
NAMES = (
    "Ada Alma Anton Basil Bella Boris Carla Cyril Dora Edgar Elsa Felix Flora Gideon Greta Hector Hilda Igor "
    "Ingrid Jasper Juno Karl Kira Leon Lydia Milo Mona Nestor Nina Oscar Olga Pavel Petra Quentin Rosa Rufus "
    "Selma Silas Tessa Tobias Ursula Victor Vera Walter Wanda Xavier Yara Yuri Zelda Zeno"
).split()
PREPOSITIONS = "near behind beside under above past around beyond".split()


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _trigrams(words: list[str]) -> set[tuple[str, str, str]]:
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}  # type: ignore[misc]


@lru_cache(maxsize=1)
def shipped_sentences() -> tuple[str, ...]:
    """Sentences of the licence texts and the Zen of Python (6-30 words, mostly plain words)."""
    chunks: list[str] = []
    if LICENSES.is_dir():
        for path in sorted(LICENSES.iterdir()):
            if path.is_file() and not path.is_symlink():
                chunks.append(path.read_text(errors="replace"))
    with contextlib.redirect_stdout(io.StringIO()):  # the first import prints the Zen
        import this
    chunks.append(codecs.decode(this.s, "rot13").replace("\n", ". "))
    out: list[str] = []
    seen: set[str] = set()
    for chunk in chunks:
        flat = re.sub(r"\s+", " ", chunk)
        for sentence in _SENTENCE_END.split(flat):
            sentence = sentence.strip(" -*")
            words = _words(sentence)
            if not 6 <= len(words) <= 30:
                continue
            letters = sum(c.isalpha() for c in sentence)
            if letters < 0.75 * len(sentence.replace(" ", "")):
                continue
            key = " ".join(words)
            if key not in seen:
                seen.add(key)
                out.append(sentence)
    return tuple(out)


def _template_sentences(seed: int) -> Iterator[str]:
    """An endless seeded stream of Harvard-like sentences: every word trigram holds a drawn word."""
    rng = rng_for(seed, "texts", "templates")

    def pick(words: tuple[str, ...] | list[str]) -> str:
        return str(words[int(rng.integers(len(words)))])

    while True:
        name, verb, prep = pick(NAMES), pick(VERBS), pick(PREPOSITIONS)
        adj, noun, adj2, noun2 = pick(ADJECTIVES), pick(NOUNS), pick(ADJECTIVES), pick(NOUNS)
        if rng.integers(2) == 0:
            yield f"{name} {verb} a {adj} {noun} {prep} {adj2} {noun2}."
        else:
            yield f"{prep.capitalize()} {adj} {noun}, {name} {verb} {adj2} {noun2}."


def texts(seed: int, n: int, *, min_words: int = 28, max_words: int = 42) -> list[str]:
    """``n`` texts of ``min_words``-``max_words`` words, no word trigram shared between any two."""
    rng = rng_for(seed, "texts", "order")
    shipped = list(shipped_sentences())
    order = [shipped[int(i)] for i in rng.permutation(len(shipped))]
    templates = _template_sentences(seed)
    used: set[tuple[str, str, str]] = set()
    out: list[str] = []
    current: list[str] = []
    current_tail: list[str] = []
    current_grams: set[tuple[str, str, str]] = set()
    n_words = 0
    rejected = 0
    stream = iter(order)
    while len(out) < n:
        sentence = next(stream, None)
        if sentence is None:
            sentence = next(templates)
        words = _words(sentence)
        if n_words + len(words) > max_words:
            if n_words >= min_words:
                out.append(" ".join(current))
                used |= current_grams
            current, current_tail, current_grams, n_words = [], [], set(), 0
            continue
        grams = _trigrams(current_tail + words)  # trigrams across the sentence join count too
        if grams & used or grams & current_grams:
            rejected += 1
            if rejected > 200_000:
                raise RuntimeError("texts: cannot find enough sentences without shared phrases")
            continue
        current.append(sentence)
        current_tail = (current_tail + words)[-2:]
        current_grams |= grams
        n_words += len(words)
    return out
