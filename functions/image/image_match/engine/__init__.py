"""Image matching engine: safe decode, border trim, dihedral DCT hash, ORB + MAGSAC verification, fusion.

``ImageEngine`` implements :class:`medialayer.engine.Engine` for ``POST /image/match``.
"""

from image_match.engine.engine import ENGINE_VERSION, ImageEngine, ImageSignature

__all__ = ["ENGINE_VERSION", "ImageEngine", "ImageSignature"]
