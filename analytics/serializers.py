"""Small input/output serializers for search, statistics, similar tracks, region layers
and exports. The output serializers make the answers from what the services compute;
drf-spectacular reads both kinds for the OpenAPI document."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics import alert_delivery, geo, saved_searches
from analytics.models import ExportJob, RegionLayer, SavedSearch, Watch
from analytics.search import json_key, seconds
from indexer import limits
from indexer.api_fields import (
    FacetKeysField,
    FacetValueField,
    FiltersField,
    IntegerRangeField,
    NumberField,
    QueryTreeField,
    TextChoiceField,
)
from indexer.facets import UNITS
from indexer.search.contract import GEO_TARGETS, SCOPES, STAT_UNITS
from indexer.serializers import SchemaRef

# Inputs ----------------------------------------------------------------------------------------


class QueryInput(serializers.Serializer):
    """The fields every query endpoint takes: which frames match."""

    query = QueryTreeField(required=False, help_text="the query as a tree")
    q = serializers.CharField(required=False, allow_blank=True, help_text="the query in the text form")
    filters = FiltersField(required=False)
    gap_s = serializers.FloatField(
        required=False, default=1.0, min_value=0,
        help_text="a new clip starts where matching frames are more than this many seconds apart")
    schema = serializers.CharField(required=False, allow_blank=True,
                                   help_text="schema id, name or name:version; default: the default schema")
    tz = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text="IANA time zone (Europe/Berlin) of hour and weekday filters and of clock date-times without "
                  "an offset; default: the deployment's SCOOP_TIME_ZONE")


class ExportClipInput(serializers.Serializer):
    video = serializers.IntegerField(min_value=1)
    start_s = serializers.FloatField(min_value=0)
    end_s = serializers.FloatField(min_value=0)

    def validate(self, data):
        if data["end_s"] < data["start_s"]:
            raise serializers.ValidationError({"end_s": ["must be >= start_s"]})
        return data


class ExportInput(QueryInput):
    """Which labels to export and how (docs/api/exports.md)."""

    format = serializers.ChoiceField(choices=["eta", "cvat", "mot", "coco", "csv", "camio"])
    layout = serializers.ChoiceField(choices=["json", "csv", "xml"], required=False, default="json",
                                     help_text="camio only: the download's layout")
    scope = serializers.ChoiceField(choices=["all", "page", "clips"], required=False, default="all",
                                    help_text="all matches, one page of clips, or the clips given")
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=limits.PAGE_MAX)
    page_size = serializers.IntegerField(required=False, default=limits.PAGE_SIZE_DEFAULT, min_value=1,
                                         max_value=limits.PAGE_SIZE_MAX)
    clips = ExportClipInput(many=True, required=False, help_text="scope=clips: the selected clips")

    def validate(self, data):
        if data.get("scope") == "clips" and not data.get("clips"):
            raise serializers.ValidationError({"clips": ["scope=clips needs the selected clips"]})
        return data


class ExportJobOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    params = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "url", "format", "params", "status", "progress", "videos", "videos_done", "detections",
                  "filename", "file", "file_bytes", "error", "created_at", "started_at", "finished_at"]

    def get_url(self, job) -> str:
        return f"/api/v1/exports/{job.pk}/"

    @extend_schema_field(ExportInput)
    def get_params(self, job) -> dict:
        """The fields the job was queued with, as checked (its format among them)."""
        return {"format": job.format, **job.params}

    def get_file(self, job) -> str | None:
        return f"/api/v1/exports/{job.pk}/file" if job.status == ExportJob.SUCCEEDED else None


class SearchInput(QueryInput):
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=limits.PAGE_MAX)
    page_size = serializers.IntegerField(required=False, default=limits.PAGE_SIZE_DEFAULT, min_value=1,
                                         max_value=limits.PAGE_SIZE_MAX)
    facet_unit = TextChoiceField(choices=UNITS, required=False, allow_blank=True,
                                 help_text="what the facet counts count; default: each facet's own unit")
    facets = FacetKeysField(required=False, help_text="facet keys to count; default all")


class FigureInput(serializers.Serializer):
    figure = serializers.BooleanField(required=False, default=False, help_text="add plotly figures")


class OccurrenceInput(QueryInput, FigureInput):
    unit = TextChoiceField(choices=STAT_UNITS, required=False, default="objects")
    group_by = TextChoiceField(choices=["hour", "weekday"], required=False,
                               help_text="also count per hour of day or weekday of the frames' clock time (in tz)")
    facets = FacetKeysField(required=False, help_text="facet keys to count; default all")


class CooccurrenceInput(QueryInput, FigureInput):
    a = serializers.CharField(required=False, help_text="facet key of the rows")
    b = serializers.CharField(required=False, help_text="facet key of the columns")
    scope = TextChoiceField(choices=SCOPES, required=False, default="frame", help_text="the units counted")
    top = IntegerRangeField(required=False, minimum=1, maximum=limits.TOP_PAIRS_MAX,
                            help_text="instead of a and b: the N most over-represented pairs")
    min_count = IntegerRangeField(required=False, default=1, minimum=1,
                                  help_text="top pairs seen fewer times are left out")

    def validate(self, data):
        given = [name for name in ("a", "b") if name in data]
        if "top" in data and given:
            raise serializers.ValidationError({"top": ["give facets a and b, or top, not both"]})
        if "top" not in data and len(given) != 2:
            raise serializers.ValidationError({"a" if "a" not in data else "b": [
                "give two facets a and b (or top: N for the most over-represented pairs)"]})
        return data


@extend_schema_field({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                      "description": "[west, south, east, north], degrees"})
class BBoxField(serializers.JSONField):
    """A map view; checked by :func:`analytics.geo.view_bbox`."""


class GeoInput(QueryInput):
    bbox = BBoxField(help_text="the view: [west, south, east, north], degrees")
    zoom = serializers.FloatField(min_value=0, max_value=limits.MAX_TILE_LEVEL,
                                  help_text="the map zoom; cells are tiles of zoom + 3")
    target = TextChoiceField(choices=GEO_TARGETS, required=False, default="frames")
    format = serializers.ChoiceField(choices=geo.FORMATS, required=False, default="cells")
    grid = TextChoiceField(choices=geo.GRIDS, required=False, default="tiles", help_text="web-mercator tiles")


class RegionStatsInput(QueryInput):
    layer = serializers.IntegerField(help_text="region layer id")
    target = TextChoiceField(choices=GEO_TARGETS, required=False, default="frames")


class TimelineInput(QueryInput, FigureInput):
    bins = IntegerRangeField(required=False, default=limits.TIMELINE_BINS_DEFAULT, minimum=1,
                             maximum=limits.TIMELINE_BINS_MAX, help_text="at most this many bins")
    group_by = TextChoiceField(choices=["hour", "weekday"], required=False,
                               help_text="also count the matching frames per hour of day or weekday (in tz)")


class SavedSearchInput(QueryInput):
    """A saved search: a name, whether others see it, the search, and the dashboard's view."""

    name = serializers.CharField(max_length=200, help_text="unique among the owner's saved searches")
    shared = serializers.BooleanField(required=False, default=False, help_text="other analysts see it (read only)")
    view = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000,
        help_text="the rest of the dashboard's address, e.g. unit=tracks&tab=timeline")


class WatchChannelsInput(serializers.Serializer):
    in_app = serializers.BooleanField(required=False, default=True, help_text="list alerts in the app")
    webhook = serializers.URLField(required=False, allow_null=True, allow_blank=True, max_length=2000,
                                   help_text="POST each alert here, signed (X-Scoop-Signature)")
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True, help_text="mail each alert here")


class WatchInput(serializers.Serializer):
    """How a saved search is watched; fields left out keep their values (a new watch: the defaults)."""

    min_duration_s = serializers.FloatField(required=False, min_value=0, help_text="only clips at least this long")
    cooldown_s = serializers.FloatField(required=False, min_value=0,
                                        help_text="after an alert, no other alert for the video for this many seconds")
    channels = WatchChannelsInput(required=False)
    active = serializers.BooleanField(required=False)

    def validate(self, data):
        channels = data.pop("channels", None)
        if channels is not None:
            data["in_app"] = channels.get("in_app", True)
            data["webhook_url"] = channels.get("webhook") or ""
            data["email"] = channels.get("email") or ""
        return data


class AlertsInput(serializers.Serializer):
    watch = serializers.IntegerField(required=False, help_text="only this watch's alerts (its id)")
    state = serializers.ChoiceField(choices=("unacknowledged", "acknowledged"), required=False,
                            help_text="only alerts nobody acknowledged yet, or only acknowledged ones")
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)


class RegionUploadInput(serializers.Serializer):
    name = serializers.CharField(max_length=limits.REGION_NAME_MAX)
    file = serializers.FileField(help_text="GeoJSON (.geojson, .json), zipped shapefile (.zip) or GeoPackage (.gpkg)")


class SimilarInput(QueryInput):
    video = serializers.IntegerField(required=False, help_text="id of the video of the picked track")
    track = serializers.CharField(required=False, help_text="the picked track's id")
    image = serializers.FileField(required=False, help_text="instead of video and track: a crop to embed "
                                                            "(multipart)")
    k = serializers.IntegerField(required=False, default=limits.SIMILAR_K_DEFAULT, min_value=1,
                                 max_value=limits.MAX_K, help_text="how many tracks to return")

    def validate(self, data):
        picked = [name for name in ("video", "track") if name in data]
        if "image" in data and picked:
            raise serializers.ValidationError({"image": ["give a track (video and track) or an image, not both"]})
        if "image" not in data and len(picked) != 2:
            raise serializers.ValidationError({"track" if "video" in data else "video": [
                "give the video and track of the picked track (or a multipart image)"]})
        if "image" in data and data["image"].size > limits.SIMILAR_IMAGE_MAX_BYTES:
            raise serializers.ValidationError({"image": [f"larger than {limits.SIMILAR_IMAGE_MAX_BYTES // 2**20} MiB"]})
        return data


# Shared output fields --------------------------------------------------------------------------


@extend_schema_field({"type": "object", "description": "{facet key: {value: count}}; for unit seconds, durations",
                      "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}}})
class FacetCountsField(serializers.Field):
    """Counts per facet value; values as JSON text (booleans ``true``/``false``)."""

    def to_representation(self, value):
        return {key: {json_key(v): n for v, n in counts.items()} for key, counts in value.items()}


class SecondsField(serializers.FloatField):
    """Seconds to the microsecond (:func:`analytics.search.seconds`)."""

    def to_representation(self, value):
        return seconds(value)


@extend_schema_field({"$ref": "#/components/schemas/Geometry"})
class GeometryField(serializers.JSONField):
    """A GeoJSON geometry, as computed."""


@extend_schema_field({"$ref": "#/components/schemas/PlotlyFigure"})
class PlotlyFigureField(serializers.JSONField):
    """A plotly figure, as plotly made it."""


# Search ----------------------------------------------------------------------------------------


class SearchCountsOutput(serializers.Serializer):
    videos = serializers.IntegerField()
    clips = serializers.IntegerField()
    frames = serializers.IntegerField()
    objects = serializers.IntegerField()
    tracks = serializers.IntegerField()
    duration_s = SecondsField(help_text="the clips' total duration")


class ClipOutput(serializers.Serializer):
    """A span of a video, with what a player needs."""

    video = serializers.IntegerField()
    video_name = serializers.CharField(allow_null=True)
    start_s = NumberField()
    end_s = NumberField()
    duration_s = NumberField()
    start_frame = serializers.IntegerField()
    end_frame = serializers.IntegerField()
    frames = serializers.IntegerField(help_text="frames of the span that match")
    thumbnail_url = serializers.CharField(allow_null=True)
    stream_url = serializers.CharField(allow_null=True)


class SearchClipOutput(ClipOutput):
    live = serializers.BooleanField(help_text="its video is a live stream still growing")


class SearchOutput(serializers.Serializer):
    """Exact counts, disjunctive facet counts and one page of clips
    (:class:`analytics.search.SearchAnswer`)."""

    schema = SchemaRef()
    counts = SearchCountsOutput(source="result.counts")
    facets = FacetCountsField(source="result.facets")
    clips = SearchClipOutput(many=True)
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField()
    total_clips = serializers.IntegerField(source="result.total_clips")
    videos_without_clock = serializers.IntegerField(
        help_text="indexed videos without recorded_at, which the query's clock, hour or weekday filter left out "
                  "(0 when it has none)")


# Statistics ------------------------------------------------------------------------------------


class OccurrenceGroupOutput(serializers.Serializer):
    group = serializers.CharField(help_text="an hour 0..23 or a weekday mon..sun")
    counts = FacetCountsField()


class OccurrenceOutput(serializers.Serializer):
    unit = serializers.ChoiceField(choices=STAT_UNITS)
    counts = FacetCountsField()
    group_by = serializers.ChoiceField(choices=["hour", "weekday"], required=False)
    tz = serializers.CharField(required=False, help_text="the zone of the groups")
    groups = OccurrenceGroupOutput(many=True, required=False, help_text="group_by: the counts of each group")
    figures = serializers.DictField(child=PlotlyFigureField(), required=False,
                                    help_text="figure=1: a bar chart per facet")


class CooccurrenceOutput(serializers.Serializer):
    """The matrix of facets a x b: ``lift[i][j] = matrix[i][j] * total / (row_totals[i] * col_totals[j])``."""

    a = serializers.CharField()
    b = serializers.CharField()
    scope = serializers.ChoiceField(choices=SCOPES)
    rows = serializers.ListField(child=serializers.CharField(), help_text="a's values")
    cols = serializers.ListField(child=serializers.CharField(), help_text="b's values")
    matrix = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    row_totals = serializers.ListField(child=serializers.IntegerField())
    col_totals = serializers.ListField(child=serializers.IntegerField())
    total = serializers.IntegerField(help_text="every unit of the scope")
    lift = serializers.ListField(child=serializers.ListField(child=NumberField(allow_null=True)),
                                 help_text="observed over expected; null when a denominator is 0")
    figure = PlotlyFigureField(required=False, help_text="figure=1: a heatmap")


class PairOutput(serializers.Serializer):
    a = serializers.CharField()
    a_value = serializers.CharField()
    b = serializers.CharField()
    b_value = serializers.CharField()
    count = serializers.IntegerField()
    lift = NumberField(allow_null=True)


class TopPairsOutput(serializers.Serializer):
    """The most over-represented pairs of values of two different facets."""

    scope = serializers.ChoiceField(choices=SCOPES)
    total = serializers.IntegerField()
    pairs = PairOutput(many=True)


class VideoTimeBinOutput(serializers.Serializer):
    start_s = NumberField()
    count = serializers.IntegerField()


class VideoTimeOutput(serializers.Serializer):
    bin_s = NumberField(allow_null=True, help_text="bin width, seconds; null without matching frames")
    bins = VideoTimeBinOutput(many=True)


class WallClockBinOutput(serializers.Serializer):
    start = serializers.CharField(help_text="ISO 8601, UTC")
    count = serializers.IntegerField()


class WallClockOutsideOutput(serializers.Serializer):
    frames = serializers.IntegerField(help_text="placed matching frames left out of the focus")
    earliest = serializers.CharField(help_text="start of the earliest bin of the other groups (ISO 8601, UTC)")
    latest = serializers.CharField(help_text="end of the latest bin of the other groups (ISO 8601, UTC)")


class WallClockFocusOutput(serializers.Serializer):
    recorded_from = serializers.CharField(help_text="videos recorded from (ISO 8601, UTC)")
    recorded_to = serializers.CharField(help_text="videos recorded up to (ISO 8601, UTC)")
    bin = serializers.CharField(allow_null=True, help_text="bin width as people write it: 15min, 6h, 7d")
    bin_s = NumberField(allow_null=True)
    bins = WallClockBinOutput(many=True)
    outside = WallClockOutsideOutput()


class WallClockOutput(serializers.Serializer):
    bin = serializers.CharField(allow_null=True, help_text="bin width as people write it: 15min, 6h, 7d")
    bin_s = NumberField(allow_null=True)
    bins = WallClockBinOutput(many=True)
    unplaced = serializers.IntegerField(help_text="matching frames of videos without recorded_at")
    focus = WallClockFocusOutput(allow_null=True, help_text=(
        "the busiest group of times when others stand far apart (the statistics guide); null: one group"))


class TimelineFiguresOutput(serializers.Serializer):
    video_time = PlotlyFigureField()
    wall_clock = PlotlyFigureField()


class GroupBinOutput(serializers.Serializer):
    group = serializers.CharField(help_text="an hour 0..23 or a weekday mon..sun")
    count = serializers.IntegerField(help_text="matching frames")


class GroupedOutput(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=["hour", "weekday"])
    tz = serializers.CharField()
    bins = GroupBinOutput(many=True)


class TimelineOutput(serializers.Serializer):
    video_time = VideoTimeOutput()
    wall_clock = WallClockOutput()
    grouped = GroupedOutput(required=False, help_text="group_by: matching frames per hour of day or weekday")
    figures = TimelineFiguresOutput(required=False, help_text="figure=1: bar charts")


# Maps and regions ------------------------------------------------------------------------------


class CellPropertiesOutput(serializers.Serializer):
    count = serializers.IntegerField()
    tile = serializers.CharField(help_text="z/x/y")


class CellOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    geometry = GeometryField()
    properties = CellPropertiesOutput()


class GeoCellsOutput(serializers.Serializer):
    """Matching frames or objects counted per web-mercator tile."""

    type = serializers.ChoiceField(choices=["FeatureCollection"])
    grid = serializers.ChoiceField(choices=geo.GRIDS)
    level = serializers.IntegerField(help_text="the tile level of the cells")
    target = serializers.ChoiceField(choices=GEO_TARGETS)
    features = CellOutput(many=True)


class PointPropertiesOutput(serializers.Serializer):
    video = serializers.IntegerField()
    frame = serializers.IntegerField()
    t = NumberField()
    count = serializers.IntegerField()


class PointOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    geometry = GeometryField()
    properties = PointPropertiesOutput()


class GeoPointsOutput(serializers.Serializer):
    """Each located matching frame."""

    type = serializers.ChoiceField(choices=["FeatureCollection"])
    target = serializers.ChoiceField(choices=GEO_TARGETS)
    features = PointOutput(many=True)


REGION_PROPERTY = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True}


@extend_schema_field({"type": "object", "additionalProperties": REGION_PROPERTY,
                      "description": "the uploaded file's attributes of the region"})
class RegionPropertiesField(serializers.JSONField):
    """A region's attributes, as uploaded."""


@extend_schema_field({"type": "object", "additionalProperties": REGION_PROPERTY,
                      "properties": {"count": {"type": "integer", "description": "matching frames or objects"}},
                      "required": ["count"],
                      "description": "the uploaded file's attributes of the region, and its count"})
class RegionCountPropertiesField(serializers.JSONField):
    """A region's attributes with its count."""


class RegionFeatureOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField(help_text="the row in the uploaded file")
    geometry = GeometryField()
    properties = RegionPropertiesField()


class RegionCountFeatureOutput(RegionFeatureOutput):
    properties = RegionCountPropertiesField()


class RegionCountsOutput(serializers.Serializer):
    """A region layer with the matching frames or objects counted per region."""

    type = serializers.ChoiceField(choices=["FeatureCollection"])
    layer = serializers.IntegerField()
    name = serializers.CharField()
    target = serializers.ChoiceField(choices=GEO_TARGETS)
    outside = serializers.IntegerField(help_text="counted in no region")
    features = RegionCountFeatureOutput(many=True)


class InvalidRowOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="the row in the uploaded file")
    reason = serializers.CharField()


class RegionLayerOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, allow_null=True)
    invalid = InvalidRowOutput(many=True, help_text="rows left out, and why")

    class Meta:
        model = RegionLayer
        fields = ["id", "name", "regions", "invalid", "source_format", "source_crs", "author", "created_at"]


class RegionLayerCreatedOutput(RegionLayerOutput):
    class Meta(RegionLayerOutput.Meta):
        fields = ["id", "name", "regions", "invalid"]


class RegionLayerDetailOutput(serializers.Serializer):
    """A region layer as a GeoJSON FeatureCollection (WGS84)."""

    type = serializers.ChoiceField(choices=["FeatureCollection"], source="geojson.type")
    features = RegionFeatureOutput(many=True, source="geojson.features")
    id = serializers.IntegerField()
    name = serializers.CharField()


# Saved searches --------------------------------------------------------------------------------


class SavedSearchOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username")
    mine = serializers.SerializerMethodField(help_text="whether the caller owns it (and may change it)")
    schema = SchemaRef()
    query = QueryTreeField(allow_null=True, help_text="the query as a tree, when it was saved so")
    q = serializers.CharField(allow_null=True, help_text="the query as text, when it was saved so")
    filters = FiltersField()
    dashboard_url = serializers.SerializerMethodField(help_text="the dashboard's address that opens it")
    watched = serializers.SerializerMethodField(help_text="whether its owner watches it (alerts on new data)")

    class Meta:
        model = SavedSearch
        fields = ["id", "name", "owner", "mine", "shared", "schema", "query", "q", "filters", "gap_s", "tz", "view",
                  "dashboard_url", "watched", "created_at", "updated_at"]

    def get_watched(self, saved: SavedSearch) -> bool:
        watch = getattr(saved, "watch", None)  # none: RelatedObjectDoesNotExist, an AttributeError
        return watch is not None and watch.active

    def get_mine(self, saved: SavedSearch) -> bool:
        return saved.owner_id == self.context["user"].pk

    def get_dashboard_url(self, saved: SavedSearch) -> str:
        return saved_searches.dashboard_address(saved)


class WatchChannelsOutput(serializers.Serializer):
    in_app = serializers.BooleanField()
    webhook = serializers.CharField(source="webhook_url", allow_null=True)
    email = serializers.CharField(allow_null=True)

    def to_representation(self, watch):
        return {"in_app": watch.in_app, "webhook": watch.webhook_url or None, "email": watch.email or None}


class WatchOutput(serializers.ModelSerializer):
    channels = WatchChannelsOutput(source="*")
    secret = serializers.CharField(help_text="the HMAC-SHA256 key of the webhook's signature")

    class Meta:
        model = Watch
        fields = ["id", "saved_search", "min_duration_s", "cooldown_s", "channels", "active", "secret", "created_at",
                  "updated_at"]


class AlertOutput(serializers.Serializer):
    """An alert, as :func:`analytics.alert_delivery.alert_json` writes it (the webhook's body holds
    the same); the fields below document it."""

    id = serializers.IntegerField()
    watch = serializers.IntegerField()
    saved_search = serializers.CharField(help_text="the watched saved search's name")
    saved_search_id = serializers.IntegerField(help_text="its id (its dashboard_url plays the alert's clip)")
    video = serializers.IntegerField()
    video_name = serializers.CharField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField(help_text="moves while the clip grows (a live stream)")
    first_frame = serializers.IntegerField()
    thumbnail_url = serializers.CharField()
    stream_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    acknowledged_by = serializers.CharField(allow_null=True)

    def to_representation(self, alert):
        return alert_delivery.alert_json(alert)


class AlertsOutput(serializers.Serializer):
    count = serializers.IntegerField(help_text="alerts that match the filters")
    unacknowledged = serializers.IntegerField(help_text="of all the caller's alerts, those nobody acknowledged")
    alerts = AlertOutput(many=True, help_text="the newest first, at most limit")


# Similar tracks --------------------------------------------------------------------------------


class SimilarSourceOutput(serializers.Serializer):
    """What the query vector came from: a picked track, or an uploaded image."""

    video = serializers.IntegerField(required=False)
    video_name = serializers.CharField(required=False)
    track = serializers.CharField(required=False)
    image = serializers.BooleanField(required=False)


class SimilarHitOutput(ClipOutput):
    track = serializers.CharField()
    label = serializers.CharField()
    score = NumberField(help_text="cosine similarity to the query")


class SimilarOutput(serializers.Serializer):
    query = SimilarSourceOutput()
    k = serializers.IntegerField()
    results = SimilarHitOutput(many=True, help_text="the most similar tracks, best first, each with its span")


# Exports ---------------------------------------------------------------------------------------


class DetectionPropertiesOutput(serializers.Serializer):
    video = serializers.IntegerField()
    video_name = serializers.CharField()
    frame = serializers.IntegerField()
    t = serializers.FloatField()
    label = serializers.CharField()
    track = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    box = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="[x1, y1, x2, y2], 0..1")
    attrs = serializers.DictField(child=FacetValueField())


class DetectionFeatureOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    geometry = GeometryField(allow_null=True, help_text="the frame's location; null when it has none")
    properties = DetectionPropertiesOutput()


class DetectionsGeojsonOutput(serializers.Serializer):
    """Every detection of the matching frames (written by :func:`analytics.export.detections_geojson`)."""

    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = DetectionFeatureOutput(many=True)

