"""Media hashing: SHA-256, MD5, PDQ (with dihedral variants) for images, vPDQ for videos.

Pure functions, no database: the case store and the triage stages call these.
"""

from perisai.media.decode import Rejected
from perisai.media.image import ImageHashes, hamming, hash_image
from perisai.media.victim_hash import victim_hash
from perisai.media.video import hash_video

__all__ = ["ImageHashes", "Rejected", "hamming", "hash_image", "hash_video", "victim_hash"]
