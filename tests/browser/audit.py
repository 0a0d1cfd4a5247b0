"""Accessibility audits and screenshot comparisons for the browser tests.

axe-core (tests/browser/vendor/axe-core, see its README) is injected into the page by
Playwright and run there; the audit fails on every violation of impact "serious" or
"critical". Screenshots of the viewport are compared, at half size, with the approved
images in tests/browser/approved/: a pixel differs when one of its channels differs by
more than CHANNEL_TOLERANCE, and a page fails when more than PIXEL_TOLERANCE of its pixels
differ. With SCOOP_APPROVE_SCREENSHOTS=1 (``make approve-screenshots``) the images taken
become the approved ones instead. Images are decoded and compared by Chromium itself
(a canvas), so no image library is needed.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
APPROVED = Path(__file__).parent / "approved"
BLOCKING = ("serious", "critical")
CHANNEL_TOLERANCE = 24
PIXEL_TOLERANCE = 0.005
APPROVING = os.environ.get("SCOOP_APPROVE_SCREENSHOTS") == "1"


def axe_violations(page) -> list[dict]:
    """The serious and critical violations axe-core finds in the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const results = await axe.run(document, {resultTypes: ['violations']});
        return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [violation for violation in found if violation["impact"] in BLOCKING]


# Every control on screen that Tab skips: a negative tabindex, or a widget made of a
# plain element. A <main> with tabindex -1 is a skip link's target, not a control.
UNREACHABLE = """() => [...document.querySelectorAll(['a[href], button, input, select, textarea, summary',
        'video[controls], [tabindex], [role=button], [role=tab], [onclick]'].join(', '))]
    .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' && !e.disabled
        && !e.closest('[inert], dialog:not([open])') && e.tagName !== 'MAIN')
    .filter(e => e.tabIndex < 0)
    .map(e => e.outerHTML.slice(0, 120))"""


def keyboard_unreachable(page) -> list[str]:
    """The visible controls of the page that the keyboard cannot reach."""
    return page.evaluate(UNREACHABLE)


# In the browser: both images at half size, the share of pixels that differ, and the
# half-size image taken (PNG, base64) to store when approving or to look at when failing.
COMPARE = """async ([taken, approved, tolerance]) => {
    const load = (data) => new Promise((resolve, reject) => {
        const image = new Image();
        image.onload = () => resolve(image);
        image.onerror = reject;
        image.src = `data:image/png;base64,${data}`;
    });
    const pixels = (image, width, height) => {
        const canvas = document.createElement('canvas');
        canvas.width = width;
        canvas.height = height;
        const context = canvas.getContext('2d');
        context.drawImage(image, 0, 0, width, height);
        return {canvas, data: context.getImageData(0, 0, width, height).data};
    };
    const shot = await load(taken);
    const width = Math.round(shot.width / 2), height = Math.round(shot.height / 2);
    const small = pixels(shot, width, height);
    const png = small.canvas.toDataURL('image/png').split(',')[1];
    if (!approved) return {png, differing: null};
    const reference = await load(approved);
    if (reference.width !== width || reference.height !== height) {
        return {png, differing: 1, size: [reference.width, reference.height, width, height]};
    }
    const other = pixels(reference, width, height).data;
    let differing = 0;
    for (let i = 0; i < other.length; i += 4) {
        if (Math.abs(other[i] - small.data[i]) > tolerance || Math.abs(other[i + 1] - small.data[i + 1]) > tolerance
            || Math.abs(other[i + 2] - small.data[i + 2]) > tolerance) differing += 1;
    }
    return {png, differing: differing / (width * height)};
}"""


def compare_screenshot(page, scratch, name: str, *, mask: tuple[str, ...] = ()) -> str | None:
    """Take the viewport of ``page`` (``mask``: selectors painted over, e.g. times) and
    compare it with tests/browser/approved/<name>.png in the blank page ``scratch``.
    Returns what is wrong, or None."""
    taken = page.screenshot(animations="disabled", caret="hide", mask=[page.locator(s) for s in mask])
    approved_path = APPROVED / f"{name}.png"
    approved = base64.b64encode(approved_path.read_bytes()).decode() if approved_path.exists() else None
    answer = scratch.evaluate(COMPARE, [base64.b64encode(taken).decode(), None if APPROVING else approved,
                                        CHANNEL_TOLERANCE])
    if APPROVING:
        APPROVED.mkdir(parents=True, exist_ok=True)
        approved_path.write_bytes(base64.b64decode(answer["png"]))
        return None
    out = Path(__file__).resolve().parents[2] / "test-output" / "screenshots" / f"{name}-taken.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(answer["png"]))
    if answer["differing"] is None:
        return f"{name}: no approved image (make approve-screenshots)"
    if answer["differing"] > PIXEL_TOLERANCE:
        return f"{name}: {answer['differing']:.2%} of the pixels differ (see {out}; make approve-screenshots)"
    return None
