"""Hash lists from hotlines and platforms: pure, streaming readers and exchange writers.

No database here: `read_list` turns a file into validated `HashRecord`s one at a time, and the
importer (`perisai hashlist import`) decides what to store. See docs/hash-lists.md.
"""

from .detect import FORMATS, detect_format
from .model import (
    ALGORITHMS,
    CATEGORIES,
    WITHDRAW_BY_ID,
    HashRecord,
    ListFormatError,
    parse_category,
)
from .reader import ListReader, read_list
from .writer import write_csv, write_txt

__all__ = [
    "ALGORITHMS",
    "CATEGORIES",
    "FORMATS",
    "WITHDRAW_BY_ID",
    "HashRecord",
    "ListFormatError",
    "ListReader",
    "detect_format",
    "parse_category",
    "read_list",
    "write_csv",
    "write_txt",
]
