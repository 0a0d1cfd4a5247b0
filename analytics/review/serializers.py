"""Small input and output serializers of the review API (drf-spectacular reads them for the
OpenAPI document)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.review.models import ANSWERS, STATES, UNITS
from analytics.review.services import DECISIONS
from analytics.serializers import QueryInput
from indexer.request_parsing import JSONField
from indexer.serializers import LabelFrameOutput

# The most items one batch may ask for.
BATCH_SIZE_MAX = 100
EXPORT_FORMATS = ("csv", "eta")
CORRECTION_HELP = ('with the answer no (or the state corrected): {"label"?: str, "attrs"?: {name: value}}, '
                   "in the campaign's schema")


ATTR_VALUE = {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
ATTR_VALUES = {"type": "object", "additionalProperties": ATTR_VALUE, "description": "{attribute: value}"}
CORRECTION = {"type": "object", "properties": {"label": {"type": "string"}, "attrs": ATTR_VALUES},
              "description": CORRECTION_HELP}


@extend_schema_field(CORRECTION)
class CorrectionField(JSONField):
    """A correction; :func:`analytics.review.services.correction_check` checks it against the schema."""


@extend_schema_field(ATTR_VALUES)
class AttrValuesField(serializers.JSONField):
    """Effective attribute values, as the index held them."""


@extend_schema_field({"type": "object", "properties": {
    "query": {"$ref": "#/components/schemas/QueryTree"}, "q": {"type": "string"},
    "filters": {"$ref": "#/components/schemas/Filters"}}, "description": "the search the items come from, as given"})
class SearchFieldsField(serializers.JSONField):
    """The search a campaign was made from, as given."""


class CampaignInput(QueryInput):
    name = serializers.CharField(max_length=200)
    unit = serializers.ChoiceField(choices=UNITS, help_text="what one item is: a track or an untracked detection")
    question = serializers.CharField(max_length=500, help_text="what reviewers answer yes, no or unsure to")


class CampaignCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    items = serializers.IntegerField(help_text="how many items the search matched")


class StateCountsOutput(serializers.Serializer):
    unreviewed = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    rejected = serializers.IntegerField()
    corrected = serializers.IntegerField()
    disputed = serializers.IntegerField()


class CampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    schema = serializers.IntegerField(source="schema_id")
    unit = serializers.CharField()
    question = serializers.CharField()
    search = SearchFieldsField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    items = serializers.IntegerField()
    states = StateCountsOutput()


class BatchInput(serializers.Serializer):
    size = serializers.IntegerField(required=False, default=10, min_value=1, max_value=BATCH_SIZE_MAX,
                                    help_text="how many items to review (gold items come on top)")


class BatchItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    video = serializers.IntegerField()
    video_name = serializers.CharField()
    track = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    question = serializers.CharField()
    stream_url = serializers.CharField(allow_null=True)


class BatchOutput(serializers.Serializer):
    batch = serializers.IntegerField(allow_null=True, help_text="null: nothing left for you to review")
    items = BatchItemOutput(many=True)


class VoteInput(serializers.Serializer):
    item = serializers.IntegerField()
    answer = serializers.ChoiceField(choices=ANSWERS)
    correction = CorrectionField(required=False, allow_null=True)


class VotesInput(serializers.Serializer):
    batch = serializers.IntegerField()
    votes = VoteInput(many=True, allow_empty=False)


class VotesOutput(serializers.Serializer):
    batch = serializers.IntegerField()
    votes = serializers.IntegerField()


class GoldInput(serializers.Serializer):
    answer = serializers.ChoiceField(choices=ANSWERS)
    correction = CorrectionField(required=False, allow_null=True)


class DecisionInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=DECISIONS)
    correction = CorrectionField(required=False, allow_null=True)


class ItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    video = serializers.IntegerField(source="video_id")
    video_name = serializers.CharField()
    unit = serializers.CharField()
    key = serializers.CharField()
    track = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    attrs = AttrValuesField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    state = serializers.ChoiceField(choices=STATES)
    correction = CorrectionField(allow_null=True)
    gold_answer = serializers.CharField(allow_blank=True, help_text="empty: not a gold item")
    gold_correction = CorrectionField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True, help_text="the admin who decided (or set gold), if any")


class ItemBoxesOutput(serializers.Serializer):
    """The frames of an item's span, each with the item's own box only."""

    item = serializers.IntegerField()
    video = serializers.IntegerField()
    fps = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    frames = LabelFrameOutput(many=True, help_text="empty when the video or its track is gone")


class ExportInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, required=False, default="csv")


class AnswerCountsOutput(serializers.Serializer):
    yes = serializers.IntegerField()
    no = serializers.IntegerField()
    unsure = serializers.IntegerField()


class VoteCountsOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="every vote, gold and flagged included")
    gold = serializers.IntegerField(help_text="votes on gold items")
    counted = serializers.IntegerField(help_text="votes on regular items of batches not flagged")
    flagged_batches = serializers.IntegerField(help_text="batches with a gold item answered wrongly")
    answers = AnswerCountsOutput(help_text="the answers on regular items")


class AgreementOutput(serializers.Serializer):
    items = serializers.IntegerField(help_text="items with two counted votes or more")
    categories = serializers.ListField(child=serializers.CharField())
    percent = serializers.FloatField(allow_null=True, help_text="mean pairwise agreement per item")
    fleiss_kappa = serializers.FloatField(allow_null=True)


class ReviewerOutput(serializers.Serializer):
    reviewer = serializers.CharField()
    votes = serializers.IntegerField()
    gold_votes = serializers.IntegerField()
    gold_correct = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    good_standing = serializers.BooleanField()
    flagged_batches = serializers.IntegerField()


class MissingItemOutput(serializers.Serializer):
    item = serializers.IntegerField()
    video = serializers.IntegerField()
    video_name = serializers.CharField()
    unit = serializers.CharField()
    key = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.ChoiceField(choices=("track gone", "detection gone", "video deleted"))


class StatsOutput(serializers.Serializer):
    campaign = serializers.IntegerField()
    items = serializers.IntegerField()
    states = StateCountsOutput()
    labels = serializers.DictField(child=StateCountsOutput(), help_text="items per label (as corrected) and state")
    attributes = serializers.DictField(child=serializers.DictField(child=StateCountsOutput()),
                                       help_text="items per attribute, value (as corrected) and state")
    votes = VoteCountsOutput()
    agreement = AgreementOutput()
    reviewers = ReviewerOutput(many=True)
    missing = MissingItemOutput(many=True, help_text="items the index no longer holds, kept and reported")


ETA_ATTRIBUTE = {"type": "object", "properties": {"type": {"type": "string"}, "name": {"type": "string"},
                                                  "value": ATTR_VALUE}}
ETA_VIDEO_OBJECT = {"type": "object", "properties": {
    "type": {"type": "string", "enum": ["eta.core.objects.VideoObject"]},
    "label": {"type": "string", "description": "as counted: corrected where corrected"},
    "index": {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "the track id; absent: untracked"},
    "support": {"type": "object", "properties": {"ranges": {"type": "array", "items": {
        "type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}}},
        "description": "1-based frame numbers"},
    "attrs": {"type": "object", "properties": {"attrs": {"type": "array", "items": ETA_ATTRIBUTE}},
              "description": "its values as counted, then review_state and review_key"}}}


@extend_schema_field({"type": "object", "properties": {
    "filename": {"type": "string"},
    "objects": {"type": "object", "properties": {"objects": {"type": "array", "items": ETA_VIDEO_OBJECT}}}}})
class EtaVideoLabelsField(serializers.JSONField):
    """One video's reviewed items as ETA VideoLabels."""


class EtaVideoOutput(serializers.Serializer):
    video = serializers.IntegerField()
    name = serializers.CharField()
    labels = EtaVideoLabelsField()


class EtaExportOutput(serializers.Serializer):
    campaign = serializers.IntegerField()
    question = serializers.CharField()
    videos = EtaVideoOutput(many=True)
