"""Expense integrity (category ``expense``), keyed by employee (and by role for cohorts)."""
