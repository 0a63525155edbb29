"""Call-center rules with no I/O: task rules, calling windows and retries, questionnaire scoring,
complaint states and SLAs, spot-check comparison. Standard library only."""
