"""Every limit of the API, in one module: the request serializers take their minimums,
maximums and defaults from here, the services check the same names, and the OpenAPI
document lists them (:func:`scoop.api_schema.describe_limits`).

The limits that belong to a lower layer are defined there, where they are enforced,
and named here: the nearest-track count of the vector search (``MAX_K``), the tile
levels of the engines (``MAX_TILE_LEVEL``), the nesting of query trees
(``QUERY_MAX_DEPTH``), the nesting of analytics payloads (``PAYLOAD_JSON_MAX_DEPTH``)
and of JSON in requests (``REQUEST_JSON_MAX_DEPTH``), and the length of the MP4 cuts of
a video (``CUT_MAX_S``). The byte limits an operator sets
(``SCOOP_INGEST_MAX_BYTES``, ``SCOOP_JSON_BODY_MAX_BYTES``, ``SCOOP_MEDIA_MAX_BYTES``)
are settings.
"""

from indexer.payloads import MAX_JSON_DEPTH as PAYLOAD_JSON_MAX_DEPTH
from indexer.query.tree import MAX_DEPTH as QUERY_MAX_DEPTH
from indexer.request_parsing import REQUEST_JSON_MAX_DEPTH
from indexer.search.contract import MAX_TILE_LEVEL
from indexer.search.vectors import MAX_K
from indexer.video_cuts import CUT_MAX_S

# Search pages. An index takes offsets up to 2**63: a page past PAGE_MAX is a 400, not an engine error.
PAGE_MAX = 10**9
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 500

# Statistics.
TIMELINE_BINS_DEFAULT = 50
TIMELINE_BINS_MAX = 1000
TOP_PAIRS_MAX = 1000
GEO_POINTS_MAX = 5000

# Similar tracks.
SIMILAR_K_DEFAULT = 20
SIMILAR_IMAGE_MAX_BYTES = 20 * 2**20

# Uploads besides analytics and media (whose limits are settings).
REGION_UPLOAD_MAX_BYTES = 100 * 2**20
SEQINFO_MAX_BYTES = 64 * 2**10
# What an ingest request may hold besides the payload (form fields, multipart boundaries):
# the exact payload limit is applied to the payload itself as it is stored.
INGEST_ENVELOPE_BYTES = 64 * 2**10

# Thumbnails: width in pixels.
THUMBNAIL_WIDTH_MIN = 16
THUMBNAIL_WIDTH_MAX = 1920
THUMBNAIL_WIDTH_DEFAULT = 320

# Names (schemas, videos, region layers, cameras) and paths, in characters.
SCHEMA_NAME_MAX = 200
VIDEO_NAME_MAX = 500
REGION_NAME_MAX = 200
CAMERA_MAX = 200
MEDIA_LOCATION_MAX = 2000

__all__ = [
    "CAMERA_MAX",
    "CUT_MAX_S",
    "GEO_POINTS_MAX",
    "INGEST_ENVELOPE_BYTES",
    "MAX_K",
    "MAX_TILE_LEVEL",
    "MEDIA_LOCATION_MAX",
    "PAGE_MAX",
    "PAGE_SIZE_DEFAULT",
    "PAGE_SIZE_MAX",
    "PAYLOAD_JSON_MAX_DEPTH",
    "QUERY_MAX_DEPTH",
    "REGION_NAME_MAX",
    "REGION_UPLOAD_MAX_BYTES",
    "REQUEST_JSON_MAX_DEPTH",
    "SCHEMA_NAME_MAX",
    "SEQINFO_MAX_BYTES",
    "SIMILAR_IMAGE_MAX_BYTES",
    "SIMILAR_K_DEFAULT",
    "THUMBNAIL_WIDTH_DEFAULT",
    "THUMBNAIL_WIDTH_MAX",
    "THUMBNAIL_WIDTH_MIN",
    "TIMELINE_BINS_DEFAULT",
    "TIMELINE_BINS_MAX",
    "TOP_PAIRS_MAX",
    "VIDEO_NAME_MAX",
]
