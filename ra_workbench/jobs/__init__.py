"""Jobs: background work on rq when Redis is configured, inline in-process otherwise."""
