"""What makes a build fast, each behind one narrow interface.

``pool`` parses batches of records in helper processes (``ordered_map``);
``store`` is the one door to the parses a build keeps (``Store``: the SQLite
file of ``cache`` between runs, or memory for one run, ``rows`` being the
form both keep a parse in).  Each is an optimisation only: without any of
them a build writes the same bytes.
"""
