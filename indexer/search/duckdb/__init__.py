"""The DuckDB engine: the embedded default, one index folder shared by every process.

It answers as the contract (:mod:`indexer.search.contract`) and the shared rules
(:mod:`indexer.search.semantics`) say, and makes that fast and safe to share between
processes: many readers and one writer at a time, each write adding an immutable segment and
publishing a new generation (a manifest of segments), merges off the request path. Its
modules, by job:

- :mod:`~indexer.search.duckdb.schema`: the tables;
- :mod:`~indexer.search.duckdb.generations`: segments, manifests, the write lock, publishing,
  merge plans;
- :mod:`~indexer.search.duckdb.catalog`: the segments a process has attached and a schema of
  views per generation it reads;
- :mod:`~indexer.search.duckdb.staging`: records staged in temp tables, then inserted;
- :mod:`~indexer.search.duckdb.sql` and :mod:`~indexer.search.duckdb.compiler`: the query
  tree as SQL;
- :mod:`~indexer.search.duckdb.facets`: facet counts by family;
- :mod:`~indexer.search.duckdb.search`: frame sets, counts, clips and facets of a search;
- :mod:`~indexer.search.duckdb.statistics`: occurrence, co-occurrence, tiles, time bins,
  detections and labels;
- :mod:`~indexer.search.duckdb.track_vectors`: similarity vectors beside the index;
- :mod:`~indexer.search.duckdb.result_cache`: search answers and frame sets kept per process;
- :mod:`~indexer.search.duckdb.backend`: :class:`SearchBackend`, which ties them together.

:data:`OPTIONS` lists what the settings pass to :class:`SearchBackend`.
"""

from indexer.search.contract import EngineOption
from indexer.search.duckdb.backend import SearchBackend

OPTIONS = (
    EngineOption("data_dir", "the folder whose index/ subfolder holds the index", setting="SCOOP_DATA_DIR"),
    EngineOption("memory_limit", "DuckDB's memory limit per process", env="SCOOP_DUCKDB_MEMORY_LIMIT",
                 default="2GB"),
    EngineOption("threads", "threads one DuckDB query may use (default: one per core)",
                 env="SCOOP_DUCKDB_THREADS", kind="int"),
    EngineOption("searches", "searches computed at once per process; the others queue (default: one per core)",
                 env="SCOOP_DUCKDB_SEARCHES", kind="int"),
    EngineOption("merge_factor", "segments of one size that are merged into one (at least 2): higher makes "
                 "writes cheaper and searches read more segments", env="SCOOP_DUCKDB_MERGE_FACTOR", kind="int",
                 default=4),
    EngineOption("result_cache", "search answers kept per process for the live index generation (0: none)",
                 env="SCOOP_RESULT_CACHE", kind="int", default=256),
    EngineOption("kept_frames_mb", "megabytes of frame sets (the frames a query and filters select) kept per "
                 "process for the live index generation, shared by searches and statistics (0: none)",
                 env="SCOOP_KEPT_FRAMES_MB", kind="int", default=256),
)

__all__ = ["OPTIONS", "SearchBackend"]
