"""What an operator meets in a day (issue 15): handover step ③ with the holder's name, a building's name
changes approved at once, unlock and reset after a recorded identity check, the same masking on every page,
decisions above the tables, and no 404 for the favicon."""

from __future__ import annotations


def test_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO header, not an HTML error page
