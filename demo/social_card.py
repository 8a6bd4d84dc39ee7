"""Render the repository's social preview: docs/assets/social-card.svg → social-card.png.

GitHub wants a 1280x640 PNG (Settings → Social preview). The SVG is the source; this renders it
with resvg (the `recording` extra), using the machine's fonts (DejaVu Sans, or any sans-serif).

    python demo/social_card.py
"""

from __future__ import annotations

from pathlib import Path

import resvg_py

ASSETS = Path(__file__).parent.parent / "docs" / "assets"


def main() -> None:
    png = resvg_py.svg_to_bytes(svg_path=str(ASSETS / "social-card.svg"), width=1280, height=640)
    target = ASSETS / "social-card.png"
    target.write_bytes(bytes(png))
    print(f"wrote {target} ({len(png) // 1024} KiB)")


if __name__ == "__main__":
    main()
