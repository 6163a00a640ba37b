"""Deals: opportunities on accounts, their stages and outcomes, and the bridge from the
database to the 30-day rule forecast (``spoor.forecast``).

Modules: ``stages`` (the team's stage definitions), ``service`` (create, move, win, lose,
list), ``forecast_data`` (activities and deals as the engine's records), ``forecasting``
(one call for the CLI, the page and the API).
"""
