"""Audits and reports: ledger verification, the fairness report and its HTML, quarterly reports, provider scope."""
