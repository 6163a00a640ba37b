"""The 30-day rule forecast: pure maths over plain records (see docs/forecast.md).

Modules: ``records`` (inputs), ``cohorts`` (payoff curve F), ``expect`` (next 90 days'
opportunities), ``revenue`` (win rates, revenue), ``dlm`` (distributed-lag fallback),
``health`` (checks), ``backtest`` (rolling origin), ``simulator`` (known-kernel history),
``summary`` (one call for the CLI and the page).
"""

from spoor.forecast.cohorts import PayoffCurve, RuleTest, payoff_curve, rule_test
from spoor.forecast.expect import Interval, OpportunityForecast, expected_opportunities
from spoor.forecast.health import HealthCheck
from spoor.forecast.records import AccountRecord, DealRecord, StageEntry
from spoor.forecast.revenue import RevenueForecast
from spoor.forecast.summary import ForecastSummary, as_json, summarize

__all__ = [
    "AccountRecord",
    "DealRecord",
    "ForecastSummary",
    "HealthCheck",
    "Interval",
    "OpportunityForecast",
    "PayoffCurve",
    "RevenueForecast",
    "RuleTest",
    "StageEntry",
    "as_json",
    "expected_opportunities",
    "payoff_curve",
    "rule_test",
    "summarize",
]
