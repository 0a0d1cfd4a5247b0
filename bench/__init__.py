"""Scoop's benchmarks and load test: programs that build a corpus, start a real Scoop
and measure it from outside, as a client would.

- ``python -m bench.search``: ingest throughput, search and statistics latency, peak memory;
- ``python -m bench.similar``: top-k similarity over many track vectors;
- ``python -m bench.live``: the append rate of a live stream while analysts search;
- ``python -m bench.ingest``: the ingest rate and the cost of one write through the HTTP API,
  as a fleet of worker clients posts files;
- ``python -m bench.load``: many analysts searching while a worker ingests.

``make bench`` runs the first four (``make bench-ingest`` the fourth alone), ``make load`` the last.
"""
