"""``make load``: a bounded load run against a local server of its own, then an audit of what was stored."""
