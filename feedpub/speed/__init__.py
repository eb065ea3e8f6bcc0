"""What makes a build fast, each behind one narrow interface.

``pool`` parses batches of records in helper processes; ``cache`` keeps
parsed records (and the last build's state) between runs; ``entries`` is the
index of entries in the feeds the last run published, so they are read back
instead of rendered again.  Each is an optimisation only: without any of them
a build writes the same bytes.
"""
