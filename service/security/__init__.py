"""Who may see and do what: roles and published marks, API keys, rate limits."""
