"""The third pass: musicnn trained on MagnaTagATune (``models/musicnn_mtt.*``).

The same network as the second pass, trained on other music and other words: its 50 tags
name instruments and moods the MSD ones lack (piano, strings, violin, harpsichord, flute,
choir, sitar, quiet, soft), so ``find`` reads them too. Its embedding joins the
similarity space only when the user turns it on (the measurement is in the README).
"""

from __future__ import annotations

from engine.neural.embedding import VECTOR_SIZE
from engine.neural.musicnn import EMBEDDING_SIZE, MTT_STEM, SAMPLE_RATE
from engine.passes.musicnn_msd import MusicnnPass

PASS = MusicnnPass(
    name="musicnn-mtt",
    version=1,
    size=VECTOR_SIZE,
    sample_rate=SAMPLE_RATE,
    order=2,
    stage="mtt",
    title="third pass (instruments and moods)",
    on=False,
    embedding=slice(0, EMBEDDING_SIZE),
    ranks=False,
    tags=slice(EMBEDDING_SIZE, VECTOR_SIZE),
    stem=MTT_STEM,
)
