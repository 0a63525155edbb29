"""Analytics rules with no I/O: event facts and their rollup contributions, KPI formulas, forecast, compliance."""
