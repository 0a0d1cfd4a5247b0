"""The pipelines API (docs/api/pipelines.md): admins register TorchScript detectors (multipart: the
``model`` file and a JSON ``config``), list them, and delete them; analysts list them to start an
analysis with one."""

import json

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import IsAdmin, IsAnalyst
from indexer import pipelines
from indexer.api_fields import ErrorOutput
from indexer.models import Pipeline
from indexer.payloads import PayloadError
from indexer.serializers import SchemaRef

# The built-in pipeline, listed first: no model file, classes or thresholds of its own (its labels are
# the reference worker's), so those are empty and it has no page (url null).
REFERENCE = {"name": pipelines.REFERENCE, "kind": "reference", "url": None, "description":
             "the reference worker: HOG people, MOG2 movers, colours, IoU tracking, embeddings",
             "classes": [], "label_map": {}, "input_size": [], "thresholds": {}, "schema": None, "model_bytes": 0,
             "created_by": None, "created_at": None}


class PipelineInput(serializers.Serializer):
    name = serializers.CharField(help_text="lowercase letters, digits, - and _")
    model = serializers.FileField(help_text="the TorchScript file (torch.jit.save)")
    config = serializers.CharField(help_text='JSON: {"classes", "label_map", "input_size", "thresholds", '
                                             '"schema", "description"}')


class PipelineOutput(serializers.ModelSerializer):
    classes = serializers.ListField(child=serializers.CharField(), help_text="class names, class 0 first")
    label_map = serializers.DictField(child=serializers.CharField(), help_text="class name: ontology label")
    kind = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    input_size = serializers.SerializerMethodField()
    thresholds = serializers.SerializerMethodField()
    schema = SchemaRef(allow_null=True)
    created_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(allow_null=True, read_only=True, help_text="null: the built-in pipeline")

    class Meta:
        model = Pipeline
        fields = ["name", "kind", "url", "description", "classes", "label_map", "input_size", "thresholds", "schema",
                  "model_bytes", "created_by", "created_at"]

    @extend_schema_field({"type": "string", "enum": ["reference", "torchscript"]})
    def get_kind(self, pipeline: Pipeline) -> str:
        return "torchscript"

    def get_url(self, pipeline: Pipeline) -> str | None:
        """The pipeline's page; null for the built-in one."""
        return f"/api/v1/pipelines/{pipeline.name}/"

    def get_input_size(self, pipeline: Pipeline) -> list[int]:
        return [pipeline.input_width, pipeline.input_height]

    def get_thresholds(self, pipeline: Pipeline) -> dict[str, float]:
        return {"score": pipeline.min_score, "nms_iou": pipeline.nms_iou}

    def get_created_by(self, pipeline: Pipeline) -> str | None:
        return pipeline.created_by.get_username() if pipeline.created_by_id else None


class PipelineListApi(APIView):
    """GET: the reference pipeline, then every registered detector. POST (admins): register one."""

    parser_classes = [MultiPartParser]

    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "POST" else [IsAnalyst()]

    @extend_schema(responses=PipelineOutput(many=True))
    def get(self, request):
        registered = Pipeline.objects.select_related("schema", "created_by")
        return Response([REFERENCE, *PipelineOutput(registered, many=True).data])

    @extend_schema(request={"multipart/form-data": PipelineInput},
                   responses={201: PipelineOutput, 400: ErrorOutput, 409: ErrorOutput})
    def post(self, request):
        fields = PipelineInput(data=request.data)
        fields.is_valid(raise_exception=True)
        values = fields.validated_data
        try:
            config = json.loads(values["config"])
        except json.JSONDecodeError as error:
            raise PayloadError(f"config is not JSON: {error}", path="config") from None
        pipeline = pipelines.pipeline_register(name=values["name"], model_chunks=values["model"].chunks(),
                                               config=config, actor=request.user)
        body = PipelineOutput(pipeline).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


class PipelineDetailApi(APIView):
    def get_permissions(self):
        return [IsAdmin()] if self.request.method == "DELETE" else [IsAnalyst()]

    def _pipeline(self, name: str) -> Pipeline:
        pipeline = Pipeline.objects.select_related("schema", "created_by").filter(name=name).first()
        if pipeline is None:
            raise PayloadError(f"no registered pipeline is called '{name}'", status=404, path="name")
        return pipeline

    @extend_schema(responses={200: PipelineOutput, 404: ErrorOutput})
    def get(self, request, name: str):
        return Response(PipelineOutput(self._pipeline(name)).data)

    @extend_schema(responses={204: None, 404: ErrorOutput})
    def delete(self, request, name: str):
        pipelines.pipeline_delete(pipeline=self._pipeline(name))
        return Response(status=status.HTTP_204_NO_CONTENT)
