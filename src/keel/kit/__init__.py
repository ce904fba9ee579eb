"""Domain-free plumbing shared by every Keel domain: database, errors, cache, jobs, HTTP."""
