"""The reference engine: plain Python, in memory, written to be obviously right rather than
fast. It is the oracle the conformance properties test every other engine against, so it
shares the contract (:mod:`indexer.search.contract`) and the written-down rules
(:mod:`indexer.search.semantics`) with them, never an implementation.

**One process only.** The index lives in the memory of the process that built it: it starts
empty in every process and is gone when the process ends. Another process (a second web
process, a Celery worker, the helper process in which ``manage.py serve`` normally runs
ingests) would index into its own copy that no search ever reads. So select it
(``SCOOP_SEARCH_ENGINE=reference``) for tests and for trying semantics out in one process:
``manage.py serve`` then runs its tasks in its worker thread, not in a helper process, and
rebuilds the index from the stored payloads when it starts; production settings refuse it.

It takes no options (:data:`OPTIONS` is empty).
"""

from indexer.search.contract import EngineOption
from indexer.search.reference.backend import SearchBackend

OPTIONS: tuple[EngineOption, ...] = ()

__all__ = ["OPTIONS", "SearchBackend"]
