"""The Typer application and its command groups; commands register themselves on import."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Spoor: which organizations visit your website, and who follows them up.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
site_app = typer.Typer(help="Sites whose visits Spoor records.", no_args_is_help=True)
ipdb_app = typer.Typer(help="IP datasets used to identify organizations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(site_app, name="site")
org_app = typer.Typer(help="The team's corrections to organizations.", no_args_is_help=True)
app.add_typer(ipdb_app, name="ipdb")
app.add_typer(org_app, name="org")
user_app = typer.Typer(help="People who sign in to the web app.", no_args_is_help=True)
app.add_typer(user_app, name="user")
leads_app = typer.Typer(help="Leads: organizations ranked by fit and intent.")
app.add_typer(leads_app, name="leads")
rules_app = typer.Typer(help="Lead scoring rules, as TOML.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
deal_app = typer.Typer(
    help="Deals: opportunities on accounts and their stages.", no_args_is_help=True
)
app.add_typer(deal_app, name="deal")
forecast_app = typer.Typer(help="The 30-day rule forecast: what prospecting will bring.")
app.add_typer(forecast_app, name="forecast")
privacy_app = typer.Typer(
    help="Privacy: retention, erasure and export (docs/privacy.md).", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")
