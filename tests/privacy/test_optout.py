"""The opt-out cookie's value: the sites a visitor opted out of, nothing else."""

from __future__ import annotations

from spoor.privacy.optout import changed, opted_out, sites_in


def test_the_cookie_lists_sites() -> None:
    assert sites_in(None) == frozenset()
    assert sites_in("spoor_session=x") == frozenset()
    value = changed(None, "abc-1", out=True)
    assert value == "abc-1"
    value = changed(f"a=1; spoor_optout={value}; b=2", "zz_9", out=True)
    assert value == "abc-1.zz_9"
    header = f"x=y; spoor_optout={value}"
    assert opted_out(header, "zz_9")
    assert opted_out(header, "abc-1")
    assert not opted_out(header, "abc")
    assert not opted_out("not_spoor_optout=abc-1", "abc-1")
    assert changed(header, "zz_9", out=False) == "abc-1"
    assert changed("spoor_optout=abc-1", "abc-1", out=False) == ""
    assert sites_in('spoor_optout="<script>.ok"') == {"ok"}
