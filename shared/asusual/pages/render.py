"""HTML for the pages customers read: Liquid templates (``templates/``) with every value
autoescaped, one layout (language, viewport, the retailer's name and colour), and the headers that
keep a page's link to itself (no referrer, no framing, no outside resources, no caching).

Colours: the text on the brand colour is black or white, whichever contrasts more (at least
4.58:1 for any colour); links take the brand colour only when it reads at 4.5:1 or more on the
page's backgrounds, else the text colour. Everything else is fixed and passes WCAG AA."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from asusual.pages.strings import TEXT

if TYPE_CHECKING:
    from liquid import BoundTemplate

COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
TEXT_COLOR = "#1a1a1a"
BACKGROUNDS = ("#ffffff", "#f3f5f8")  # the page and a notice
WHITE, BLACK = "#ffffff", "#000000"
MIN_CONTRAST = 4.5  # WCAG 2.x AA for body text


@dataclass(frozen=True)
class Look:
    """The retailer's name and colour (settings ``retailer_name``, ``brand_color``)."""

    retailer: str = ""
    brand: str = "#1f4e8c"

    def __post_init__(self) -> None:
        if not COLOR.fullmatch(self.brand):
            raise ValueError(f"brand colour: {self.brand!r} is not #rrggbb")


def luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def on_color(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    return WHITE if contrast(WHITE, background) >= contrast(BLACK, background) else BLACK


def link_color(brand: str) -> str:
    """The brand colour when it reads on every page background, else the text colour."""
    return brand if all(contrast(brand, bg) >= MIN_CONTRAST for bg in BACKGROUNDS) else TEXT_COLOR


@cache
def stylesheet(brand: str) -> str:
    on_brand, link = on_color(brand), link_color(brand)
    page, notice = BACKGROUNDS
    return (
        ":root{color-scheme:light}"
        "*{box-sizing:border-box}"
        f"body{{margin:0;background:{page};color:{TEXT_COLOR};"
        "font:1rem/1.5 system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;overflow-wrap:anywhere}"
        f".brand{{background:{brand};color:{on_brand};padding:.75rem 1rem;min-height:.5rem}}"
        ".brand p,main,footer{max-width:40rem;margin:0 auto}"
        ".brand p{font-weight:700;font-size:1.125rem}"
        "main{display:block;padding:1rem 1rem 2rem}"
        "h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}"
        "h2{font-size:1.125rem;margin:1.5rem 0 .5rem}"
        f"a{{color:{link};text-decoration:underline}}"
        f"a:focus-visible,button:focus-visible,input:focus-visible{{outline:3px solid {TEXT_COLOR};"
        "outline-offset:2px}"
        f"button{{font:inherit;min-height:44px;width:100%;max-width:24rem;padding:.625rem 1.25rem;"
        f"border:2px solid {brand};border-radius:.375rem;background:{brand};color:{on_brand};cursor:pointer}}"
        f"button.secondary{{background:{page};color:{link};border-color:{link}}}"
        "fieldset{min-width:0;border:1px solid #767676;border-radius:.5rem;margin:0 0 1rem;"
        "padding:.5rem 1rem 1rem}"
        "legend{font-weight:700;padding:0 .25rem}"
        ".choice{display:flex;align-items:flex-start;gap:.75rem;padding:.5rem 0}"
        f".choice input{{flex:none;width:1.5rem;height:1.5rem;margin:.125rem 0 0;accent-color:{brand}}}"
        f".notice{{background:{notice};border-left:4px solid {brand};padding:.75rem 1rem}}"
        "footer{padding:1rem;border-top:1px solid #d0d0d0;font-size:.875rem}"
    )


def security_headers(style: str) -> dict[str, str]:
    """Only our own inline style runs; forms post back to us; nothing frames the page, nothing
    learns its address (the token) through a Referer, nothing keeps a copy."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return {
        "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


@cache
def _template(name: str) -> BoundTemplate:
    """A template of ``templates/``, parsed once per container. Liquid is imported here, not at
    import: an API client asking for JSON never pays for it on a cold start."""
    from liquid import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("asusual.pages", package_path="templates", ext=".html"),
        autoescape=True,
        undefined=StrictUndefined,
    )
    return env.get_template(f"{name}.html")


@dataclass(frozen=True)
class Html:
    body: str
    headers: Mapping[str, str]


def render(template: str, locale: str, look: Look, title: str, *, personal: bool, **values: Any) -> Html:
    """``templates/<template>.html`` inside the layout, in ``locale``: ``t`` holds the locale's
    texts; ``personal`` adds the "do not forward this link" note of pages opened by a genuine link."""
    from markupsafe import Markup

    texts = TEXT[locale]
    main = _template(template).render(t=texts, **values)
    style = stylesheet(look.brand)
    body = _template("layout").render(
        t=texts,
        locale=locale,
        title=title,
        retailer=look.retailer,
        style=Markup(style),  # noqa: S704 - built from a validated #rrggbb colour and fixed text
        main=Markup(main),  # noqa: S704 - rendered by the autoescaping environment above
        personal=personal,
    )
    return Html(body=body, headers=security_headers(style))
