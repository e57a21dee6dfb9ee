"""QR codes as SVG ``data:`` URIs: usable in a page and in a PDF (which fetches nothing else)."""

from __future__ import annotations

import base64
from io import BytesIO


def qr_data_uri(text: str, *, box_size: int = 8) -> str:
    import qrcode
    import qrcode.image.svg

    buffer = BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
