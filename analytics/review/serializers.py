"""Small input and output serializers of the review API (drf-spectacular reads them for the
OpenAPI document)."""

from rest_framework import serializers

from analytics.review.models import ANSWERS, STATES, UNITS
from analytics.review.services import DECISIONS
from analytics.serializers import QueryInput
from indexer.request_parsing import JSONField

# The most items one batch may ask for.
BATCH_SIZE_MAX = 100
EXPORT_FORMATS = ("csv", "eta")
CORRECTION_HELP = ('with the answer no (or the state corrected): {"label"?: str, "attrs"?: {name: value}}, '
                   "in the campaign's schema")


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
    search = serializers.JSONField(help_text="the search the items come from: query, q, filters")
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
    correction = JSONField(required=False, allow_null=True, help_text=CORRECTION_HELP)


class VotesInput(serializers.Serializer):
    batch = serializers.IntegerField()
    votes = VoteInput(many=True, allow_empty=False)


class VotesOutput(serializers.Serializer):
    batch = serializers.IntegerField()
    votes = serializers.IntegerField()


class GoldInput(serializers.Serializer):
    answer = serializers.ChoiceField(choices=ANSWERS)
    correction = JSONField(required=False, allow_null=True, help_text=CORRECTION_HELP)


class DecisionInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=DECISIONS)
    correction = JSONField(required=False, allow_null=True, help_text=CORRECTION_HELP)


class ItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    video = serializers.IntegerField(source="video_id")
    video_name = serializers.CharField()
    unit = serializers.CharField()
    key = serializers.CharField()
    track = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    attrs = serializers.JSONField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    state = serializers.ChoiceField(choices=STATES)
    correction = serializers.JSONField(allow_null=True)
    gold_answer = serializers.CharField(allow_blank=True)
    gold_correction = serializers.JSONField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True, help_text="the admin who decided (or set gold), if any")


class ExportInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=EXPORT_FORMATS, required=False, default="csv")


class StatsOutput(serializers.Serializer):
    campaign = serializers.IntegerField()
    items = serializers.IntegerField()
    states = StateCountsOutput()
    labels = serializers.DictField(child=StateCountsOutput(), help_text="items per label (as corrected) and state")
    attributes = serializers.DictField(child=serializers.DictField(child=StateCountsOutput()),
                                       help_text="items per attribute, value (as corrected) and state")
    votes = serializers.JSONField(help_text="total, gold, counted, flagged_batches, answers")
    agreement = serializers.JSONField(help_text="items, categories, percent, fleiss_kappa")
    reviewers = serializers.ListField(child=serializers.JSONField())
    missing = serializers.ListField(child=serializers.JSONField(),
                                    help_text="items the index no longer holds, with the reason")
