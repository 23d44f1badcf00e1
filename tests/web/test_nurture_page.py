"""The nurture page shows `mql report nurture` (one service computation), as of a day."""

from __future__ import annotations

from tests.web.conftest import Site


def test_marketing_reads_the_nurture_tracks(site: Site) -> None:
    with site.signed_in("marketing") as c:
        page = c.get("/nurture")
        past = c.get("/nurture", params={"at": "2026-01-01"})
        bad = c.get("/nurture", params={"at": "soon"})
    assert page.status_code == 200, page.text
    assert "Nurture tracks" in page.text and 'data-report="nurture"' in page.text
    for track in ("recycled_followup", "good_fit_warming", "progressive_profiling",
                  "win_back"):
        assert f"<td>{track}</td>" in page.text
    # before anything was stored, no contact had entered a track
    assert past.status_code == 200 and "no contact has entered a track yet" in past.text
    assert bad.status_code == 400 and "Traceback" not in bad.text
