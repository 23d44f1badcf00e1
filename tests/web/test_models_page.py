"""The models page over HTTP: versions with their changes against the live one in words, a
dry run (writes nothing), and activation only for admins and only when confirmed."""

from __future__ import annotations

from importlib.resources import files

import httpx

from tests.web.conftest import Site, csrf_of

MODEL = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()


def _looser() -> str:
    """The example model with another version label and a lower MQL intent line."""
    text = MODEL.replace('version: "2026.11.1"', 'version: "2026.12.0"', 1)
    looser = text.replace("- {fit: 50, intent: 30}", "- {fit: 50, intent: 20}", 1)
    assert MODEL != text != looser
    return looser


def test_a_version_is_diffed_dry_run_and_activated_only_when_confirmed(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=60,
                      headers={"Authorization": f"Bearer {site.keys['marketing']}"}) as api:
        uploaded = api.post("/v1/models", json={"text": _looser(), "source": "looser.yaml"})
    assert uploaded.status_code == 201, uploaded.text
    vid = uploaded.json()["id"]
    with site.signed_in("marketing") as c:
        page = c.get("/models")
        assert page.status_code == 200 and "Against the live model" in page.text
        assert "mql threshold #1 changed: intent 30 → 20" in page.text
        dry = c.post(f"/models/{vid}/dry-run", data={"csrf": csrf_of(page.text)})
        refused = c.post(f"/models/{vid}/activate",
                         data={"csrf": csrf_of(page.text), "confirm": "yes"})
    assert dry.status_code == 200 and "Dry run of" in dry.text and "nothing written" in dry.text
    assert refused.status_code == 403 and "admin" in refused.text
    with site.signed_in("admin") as c:
        page = c.get("/models")
        unconfirmed = c.post(f"/models/{vid}/activate", data={"csrf": csrf_of(page.text)})
        still = c.get("/models").text
        done = c.post(f"/models/{vid}/activate",
                      data={"csrf": csrf_of(page.text), "confirm": "yes"})
        after = c.get("/models").text
    assert unconfirmed.status_code == 400 and "confirmation" in unconfirmed.text
    assert f'data-version="{vid}"' in still and 'class="version live" data-version="1"' in still
    assert done.status_code == 303 and "is live" in done.headers["location"].replace("%20", " ")
    assert f'class="version live" data-version="{vid}"' in after
