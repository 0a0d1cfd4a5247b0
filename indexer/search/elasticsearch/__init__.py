"""The Elasticsearch engine: the production index, built with ``elasticsearch.dsl``.

It answers as the contract (:mod:`indexer.search.contract`) and the shared rules
(:mod:`indexer.search.semantics`) say, on an Elasticsearch cluster, and keeps every count
exact. Its modules, by job:

- :mod:`~indexer.search.elasticsearch.query`: document types, typed terms and the query tree
  compiled to Elasticsearch queries;
- :mod:`~indexer.search.elasticsearch.documents`: the mapping, and a video's records turned
  into frame, track and pointer documents;
- :mod:`~indexer.search.elasticsearch.reader`: one point in time per call, and the live frames
  streamed under it;
- :mod:`~indexer.search.elasticsearch.search`: counts, disjunctive facets and a page of clips;
- :mod:`~indexer.search.elasticsearch.statistics`: occurrence, co-occurrence, tiles, time bins,
  detections and labels;
- :mod:`~indexer.search.elasticsearch.similar`: similar tracks;
- :mod:`~indexer.search.elasticsearch.backend`: :class:`SearchBackend`, which writes generations
  and flips pointers;
- :mod:`~indexer.search.elasticsearch.lock`: the writers' lock every write holds.

It supports Elasticsearch 8.11 and later (the requests of the 8.x reference), and OpenSearch
only where the same requests apply: not yet enough to run on it (its point in time differs,
similarity needs ``dense_vector``, and the ``elasticsearch`` client refuses other products).
No request asks for more than ``index.max_result_window`` hits or lists more than
``index.max_terms_count`` terms (both at their defaults), and long operations run as tasks.

**Not exact, by design of Elasticsearch:** numbers are compared as doubles (as in the DuckDB
engine); frame times, confidences and GPS coordinates must be finite (``ValueError``
otherwise: Elasticsearch's numeric fields hold only finite numbers; ingest validation rejects
them anyway); a point outside [-90, 90] x [-180, 180] keeps exact ``lat``/``lon`` for queries
but no ``location`` (``ignore_malformed``); a box with a non-finite coordinate is not stored.

:data:`OPTIONS` lists what the settings pass to :class:`SearchBackend`.
"""

from indexer.search.contract import EngineOption
from indexer.search.elasticsearch.backend import SearchBackend

OPTIONS = (
    EngineOption("url", "the cluster's URL", env="ELASTICSEARCH_URL", default=""),
    EngineOption("username", "basic auth user (with password)", env="ELASTICSEARCH_USERNAME", default=""),
    EngineOption("password", "basic auth password", env="ELASTICSEARCH_PASSWORD", default=""),
    EngineOption("api_key", "an API key, instead of basic auth", env="ELASTICSEARCH_API_KEY", default=""),
    EngineOption("ca_certs", "the CA bundle that signed the cluster's certificate", env="ELASTICSEARCH_CA_CERTS",
                 default=""),
    EngineOption("timeout", "seconds one request may take", env="ELASTICSEARCH_TIMEOUT", kind="float",
                 default=30.0),
    EngineOption("max_retries", "how often a failed or timed-out request is retried on another node",
                 env="ELASTICSEARCH_MAX_RETRIES", kind="int", default=3),
    EngineOption("index_prefix", "the prefix of the index names (alias <prefix>-frames)",
                 env="SCOOP_ES_INDEX_PREFIX", default="scoop"),
)

__all__ = ["OPTIONS", "SearchBackend"]
