"""HTML to PDF with WeasyPrint, offline: only `data:` URIs may be loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import ImageFile

# WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import; Perisai's decoders
# must keep refusing truncated (hostile) images in the same process, so the flag is put back.
_TRUNCATED = ImageFile.LOAD_TRUNCATED_IMAGES
from weasyprint import HTML  # noqa: E402
from weasyprint.urls import URLFetcher  # noqa: E402

ImageFile.LOAD_TRUNCATED_IMAGES = _TRUNCATED


class DataOnlyFetcher(URLFetcher):
    """Refuses every URL that is not a `data:` URI, so rendering never reaches a network or a
    local file named by hostile text."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",))
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.startswith("data:"):
            self.refused.append(url[:200])
            raise ValueError(f"refused non-data URL: {url[:80]}")
        return super().fetch(url, headers)


def write_pdf(html: str, target: Path) -> list[str]:
    """Write the PDF; returns the URLs that were refused (for tests and logs)."""
    fetcher = DataOnlyFetcher()
    HTML(string=html, base_url="data:,", url_fetcher=fetcher).write_pdf(target)
    return fetcher.refused
